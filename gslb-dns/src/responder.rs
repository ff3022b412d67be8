//! `Responder`: turns one query packet into one reply packet (or silence).
//! (Placeholder signature; the answer path fills it.)

use crate::QueryContext;

/// Answers queries from the current answer plan.
#[derive(Debug, Default)]
pub struct Responder {}

impl Responder {
    /// Writes the reply to `query` into `out` (cleared first) and returns true, or returns
    /// false when the query gets no reply at all (QR=1, shorter than a header, ...).
    pub fn respond(&self, query: &[u8], context: &QueryContext, out: &mut Vec<u8>) -> bool {
        let _ = (query, context, out);
        false
    }
}
