//! The domain model: what the control plane replicates and every other crate reads.
//!
//! - `name`: `DomainName`, validated presentation-format names.
//! - `record`: static record sets (`RecordType`, `RData`, `RecordSet`).
//! - `zone`: `Zone` and `Soa`, and the rules that make a zone servable.
//! - `state`: `State`, the versioned whole, and the watch channel that publishes it.
//! - `validation`: `FieldErrors`, every fault named by its field path.

pub mod name;
pub mod record;
pub mod state;
pub mod validation;
pub mod zone;

pub use name::{DomainName, NameError};
pub use record::{RData, RecordSet, RecordType, MAX_TTL};
pub use state::{state_channel, State, StatePublisher, StateWatch};
pub use validation::{FieldError, FieldErrors};
pub use zone::{Soa, Zone};
