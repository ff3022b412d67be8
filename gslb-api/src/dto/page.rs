//! Pagination: `PageQuery` (`?limit=&after=`) and one list type per resource, each
//! `{items, next}` where `next` is the `after` of the following page.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::dto::change::AuditEntryDto;
use crate::dto::check::CheckDto;
use crate::dto::endpoint::EndpointDto;
use crate::dto::gslb_record::GslbRecordDto;
use crate::dto::network::NetworkDto;
use crate::dto::overrides::{DrillDto, OverrideDto};
use crate::dto::record::RecordSetDto;
use crate::dto::region::RegionDto;
use crate::dto::token::TokenDto;
use crate::dto::tsig_key::TsigKeyDto;
use crate::dto::zone::ZoneSummary;

/// The default page size.
pub const DEFAULT_LIMIT: usize = 100;
/// The largest page size.
pub const MAX_LIMIT: usize = 1000;

/// `?limit=&after=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Items per page, 1-1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
    /// Start after this key (the `next` of the previous page).
    pub after: Option<String>,
}

macro_rules! page_type {
    ($(#[$doc:meta])* $name:ident, $item:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
        pub struct $name {
            /// This page's items, in key order.
            pub items: Vec<$item>,
            /// Pass as `after` to get the next page; absent on the last page.
            #[serde(default, skip_serializing_if = "Option::is_none")]
            pub next: Option<String>,
        }
    };
}

page_type!(
    /// A page of zones.
    ZonePage,
    ZoneSummary
);
page_type!(
    /// A page of record sets (key: `<name> <TYPE>`).
    RecordPage,
    RecordSetDto
);
page_type!(
    /// A page of regions.
    RegionPage,
    RegionDto
);
page_type!(
    /// A page of endpoints.
    EndpointPage,
    EndpointDto
);
page_type!(
    /// A page of tokens.
    TokenPage,
    TokenDto
);
page_type!(
    /// A page of TSIG keys (never their secrets).
    TsigKeyPage,
    TsigKeyDto
);
page_type!(
    /// A page of audit entries, oldest first (key: version).
    AuditPage,
    AuditEntryDto
);
page_type!(
    /// A page of overrides.
    OverridePage,
    OverrideDto
);
page_type!(
    /// A page of drills.
    DrillPage,
    DrillDto
);
page_type!(
    /// A page of checks.
    CheckPage,
    CheckDto
);
page_type!(
    /// A page of GSLB records (key: `<name> <TYPE>`).
    GslbRecordPage,
    GslbRecordDto
);
page_type!(
    /// A page of client networks (key: the canonical CIDR text).
    NetworkPage,
    NetworkDto
);
