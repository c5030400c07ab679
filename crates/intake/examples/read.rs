//! Reads a text from standard input and prints the draft needs (or, with `--offer`, the
//! offer scope) the intake reader suggests.

use std::io::Read;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    if std::env::args().any(|a| a == "--offer") {
        println!("{:#?}", clearinghouse_intake::suggest_offer_scope(&text)?);
    } else {
        let read = clearinghouse_intake::suggest_needs(&text)?;
        println!(
            "language: {:?}, state: {:?}",
            read.language,
            read.requesting_state.map(|s| s.iso3)
        );
        for n in read.needs {
            let subs: Vec<String> = n
                .sub_areas
                .iter()
                .map(|s| format!("{} {:.2}", s.sub_area, s.confidence))
                .collect();
            let kinds: Vec<String> = n
                .assistance_kinds
                .iter()
                .map(|k| k.code.to_string())
                .collect();
            println!(
                "- {} ({:.2}) {subs:?} kinds {kinds:?}",
                n.thematic_area, n.area_confidence
            );
            println!("  title: {}", n.title);
            println!(
                "  money {:?} from {:?} by {:?}",
                n.money.map(|m| m.money.to_string()),
                n.wanted_from.map(|d| d.date.to_string()),
                n.needed_by.map(|d| d.date.to_string())
            );
        }
    }
    Ok(())
}
