//! gslb-api: the REST API, auth, OpenAPI, `/metrics`, `/v1/resolve`, change tracking and the
//! `gslbctl` client library. Not yet built: see issue "REST API, auth, OpenAPI, audit and
//! gslbctl"; today it only re-exports the model it will serve.

#![deny(unsafe_code)]
#![warn(missing_docs)]

pub use gslb_store::model;
