//! Intake: a request's text into draft needs, a programme's text into an offer's scope
//! (`clearinghouse-intake`, offline and deterministic). Reads and stores nothing; the
//! drafts become needs through CreateNeed once a person has confirmed them.

use clearinghouse_intake::{IntakeError, NeedSuggestions, OfferScopeSuggestion};

use super::App;
use crate::error::ApiError;

fn rejected(e: IntakeError) -> ApiError {
    match e {
        IntakeError::Lexicon(l) => ApiError::Internal(format!("intake lexicon: {l}")),
        other => ApiError::invalid("text", other.to_string()),
    }
}

impl App {
    /// One draft need per thematic area the text asks for.
    pub async fn suggest_needs(&self, text: String) -> Result<NeedSuggestions, ApiError> {
        self.blocking(move |_| clearinghouse_intake::suggest_needs(&text).map_err(rejected))
            .await
    }

    /// An offer's scope as a programme's text describes it.
    pub async fn suggest_offer_scope(
        &self,
        text: String,
    ) -> Result<OfferScopeSuggestion, ApiError> {
        self.blocking(move |_| clearinghouse_intake::suggest_offer_scope(&text).map_err(rejected))
            .await
    }
}
