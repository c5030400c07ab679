//! The audit trail (administrators): every change, oldest first, filtered by kind of
//! resource, resource or actor and paged by audit sequence through the query string.

use maud::html;

use clearinghouse_storage::AuditFilter;

use super::{Ctx, Reply};
use crate::{
    app::PageRequest,
    console::html::{self, Errors, when},
    error::ApiError,
};

/// Entries on one page.
const PAGE: usize = 50;

/// `GET /console/audit?kind=&resource=&actor=&after=`.
pub async fn list(ctx: &Ctx<'_>) -> Result<Reply, ApiError> {
    let q = &ctx.query;
    let filter = AuditFilter {
        resource_kind: q.opt("kind").map(str::to_owned),
        resource_id: q.opt("resource").map(str::to_owned),
        actor: q.opt("actor").map(str::to_owned),
    };
    let after = match q.opt("after") {
        Some(a) => Some(
            a.parse::<u64>()
                .map_err(|_| ApiError::invalid("after", "is not an audit sequence number"))?,
        ),
        None => None,
    };
    let listed = ctx
        .app
        .list_audit(filter, PageRequest { size: PAGE, after })
        .await?;
    let none = Errors::default();
    let body = html! {
        h1 { "Audit trail" }
        form.filters method="get" action="/console/audit" {
            (html::text_input("kind", "Kind of resource", Some("need, offer, match, party, principal"), q.get("kind"), "text", &none))
            (html::text_input("resource", "Resource id", None, q.get("resource"), "text", &none))
            (html::text_input("actor", "Principal id", None, q.get("actor"), "text", &none))
            button.button.secondary type="submit" { "Apply filters" }
        }
        div.table-wrap { table {
            caption { "Audit entries, oldest first" }
            thead { tr {
                th scope="col" class="num" { "Sequence" } th scope="col" { "When" } th scope="col" { "Who" }
                th scope="col" { "Action" } th scope="col" { "Resource" } th scope="col" { "Versions" }
            } }
            tbody {
                @if listed.items.is_empty() { tr { td colspan="6" { "No entries." } } }
                @for e in &listed.items { tr {
                    td.num { (e.sequence) } td { (when(e.at)) } td { (e.actor.0) } td { (e.action) }
                    td { (e.resource_kind) " " (e.resource_id) } td { (e.before_version) " → " (e.after_version) }
                } }
            }
        } }
        @if let Some(next) = listed.next {
            nav.pagination aria-label="Pages" { ul { li { a rel="next" href=(q.with("after", &next.to_string()).url("/console/audit")) { "Next page" } } } }
        }
    };
    Ok(Reply::page("Audit trail", body))
}
