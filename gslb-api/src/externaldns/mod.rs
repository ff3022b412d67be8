//! The ExternalDNS webhook provider (`gslb externaldns-webhook`): ExternalDNS runs it as a
//! sidecar and calls it over HTTP; it reads and writes gslb through the REST API.
//!
//! Layout:
//! - `wire`: ExternalDNS's JSON (endpoints, changes, the domain filter) and media type.
//! - `mapping`: pure: endpoints ⇄ record sets, GSLB records and endpoints; one batch per
//!   change set; refusals that name every unrepresentable endpoint.
//! - `server`: the provider API and the health server (axum), writes through `client`.
//!
//! Invariant: every `POST /records` is one atomic API write (`POST /v1/changes`) followed by
//! a wait for INSYNC; an endpoint that cannot be represented refuses the whole request.

pub mod mapping;
pub mod server;
pub mod wire;

pub use server::{serve, WebhookOptions};
pub use wire::{Changes, DomainFilter, Endpoint, ProviderSpecificProperty, MEDIA_TYPE};
