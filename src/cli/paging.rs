//! Lists across pages: `--limit N` (default 50), `--all`, and `--page-token` to go on
//! from where an earlier run stopped. Pages are requested no larger than what is still
//! wanted, so the token handed back never skips an item.

use std::future::Future;

use tonic::Status;

use super::failure::CliError;

/// Largest page the server serves.
const MAX_PAGE: usize = 500;

/// Paging flags of every list subcommand.
#[derive(Debug, Clone, clap::Args)]
pub struct PageArgs {
    /// Most items to show.
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,
    /// Show every item, however many pages that takes (overrides --limit).
    #[arg(long)]
    pub all: bool,
    /// Go on from a token printed by an earlier run.
    #[arg(long, value_name = "TOKEN")]
    pub page_token: Option<String>,
}

impl Default for PageArgs {
    fn default() -> Self {
        PageArgs {
            limit: 50,
            all: false,
            page_token: None,
        }
    }
}

/// Fetches pages through `fetch(page_size, page_token)` until the limit or the end, and
/// returns the items and the token of what is left (empty at the end).
pub async fn collect<T, F, Fut>(args: &PageArgs, mut fetch: F) -> Result<(Vec<T>, String), CliError>
where
    F: FnMut(i32, String) -> Fut,
    Fut: Future<Output = Result<(Vec<T>, String), Status>>,
{
    let mut items = Vec::new();
    let mut token = args.page_token.clone().unwrap_or_default();
    loop {
        let wanted = if args.all {
            MAX_PAGE
        } else {
            args.limit.saturating_sub(items.len()).min(MAX_PAGE)
        };
        if wanted == 0 {
            break;
        }
        let size = i32::try_from(wanted).unwrap_or(500);
        let (page, next) = fetch(size, token).await?;
        items.extend(page);
        token = next;
        if token.is_empty() {
            break;
        }
    }
    Ok((items, token))
}

/// Tells stderr how to go on when a list stopped before its end (after printing it).
pub fn more(shown: usize, next: &str) {
    if !next.is_empty() {
        eprintln!(
            "showing the first {shown}; more with --all, a larger --limit, or --page-token {next}"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Page = std::future::Ready<Result<(Vec<usize>, String), Status>>;

    /// A server holding `n` numbered items, serving pages by offset tokens.
    fn pages(n: usize) -> impl FnMut(i32, String) -> Page {
        move |size, token| {
            let start: usize = token.parse().unwrap_or(0);
            let end = (start + usize::try_from(size).unwrap_or(0)).min(n);
            let next = if end < n {
                end.to_string()
            } else {
                String::new()
            };
            std::future::ready(Ok(((start..end).collect(), next)))
        }
    }

    #[tokio::test]
    async fn a_limit_stops_at_exactly_that_many_and_returns_the_next_token() {
        let args = PageArgs {
            limit: 7,
            ..Default::default()
        };
        let (items, next) = collect(&args, pages(20)).await.expect("collect");
        assert_eq!(items, (0..7).collect::<Vec<_>>());
        let (rest, end) = collect(
            &PageArgs {
                page_token: Some(next),
                all: true,
                ..Default::default()
            },
            pages(20),
        )
        .await
        .expect("collect");
        assert_eq!(rest, (7..20).collect::<Vec<_>>());
        assert_eq!(end, "");
    }

    #[tokio::test]
    async fn all_reads_every_page() {
        let args = PageArgs {
            all: true,
            ..Default::default()
        };
        let (items, next) = collect(&args, pages(1234)).await.expect("collect");
        assert_eq!(items.len(), 1234);
        assert!(next.is_empty());
    }
}
