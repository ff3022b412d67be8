//! GeoIP tests on MaxMind DBs built here with mmdb-writer: facts and network prefixes from
//! lookups, reloads that keep the last good database on a corrupt or missing file, the CIDR
//! table winning over GeoIP, and geo answers whose ECS scope is correct over GeoIP networks.

mod policy_fixture;

use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use gslb_dns::client::{
    ClientLocator, Code, GeoFacts, GeoIpDatabase, GeoSource, PrefixTable, Reload,
};
use gslb_dns::policy::evaluate;
use policy_fixture::*;
use proptest::prelude::*;
use serde::Serialize;

#[derive(Serialize)]
struct City {
    continent: Codes,
    country: Iso,
    subdivisions: Vec<Iso>,
    location: Location,
    autonomous_system_number: u32,
}

#[derive(Serialize)]
struct Codes {
    code: &'static str,
}

#[derive(Serialize)]
struct Iso {
    iso_code: &'static str,
}

#[derive(Serialize)]
struct Location {
    latitude: f64,
    longitude: f64,
}

fn city(
    continent: &'static str,
    country: &'static str,
    subs: &[&'static str],
    lat: f64,
    lon: f64,
    asn: u32,
) -> City {
    City {
        continent: Codes { code: continent },
        country: Iso { iso_code: country },
        subdivisions: subs.iter().map(|s| Iso { iso_code: s }).collect(),
        location: Location {
            latitude: lat,
            longitude: lon,
        },
        autonomous_system_number: asn,
    }
}

/// A small City database: 192.0.2.0/23 Bavaria, 198.51.100.0/22 US, 10.0.0.0/8 France,
/// 2001:db8::/32 Singapore.
fn database(us_country: &'static str) -> Vec<u8> {
    let mut writer = mmdb_writer::Writer::new("GeoIP2-City");
    let mut put = |net: &str, value: City| {
        writer
            .insert(net.parse::<ipnet::IpNet>().unwrap(), &value)
            .unwrap()
    };
    put(
        "192.0.2.0/23",
        city("EU", "DE", &["BY", "M"], 48.1, 11.6, 64_500),
    );
    put(
        "198.51.100.0/22",
        city("NA", us_country, &[], 37.8, -122.4, 64_501),
    );
    put("10.0.0.0/8", city("EU", "FR", &["IDF"], 48.9, 2.35, 64_502));
    put("2001:db8::/32", city("AS", "SG", &[], 1.3, 103.8, 64_503));
    writer.to_bytes().unwrap()
}

/// A fresh path in the temp directory.
fn temp_path() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    std::env::temp_dir().join(format!(
        "gslb-policy-geoip-{}-{}.mmdb",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Writes `bytes` to `path` by rename, as an updater would.
fn replace(path: &PathBuf, bytes: &[u8]) {
    let staging = path.with_extension("tmp");
    std::fs::write(&staging, bytes).unwrap();
    std::fs::rename(&staging, path).unwrap();
}

fn open(us_country: &'static str) -> (PathBuf, Arc<GeoIpDatabase>) {
    let path = temp_path();
    replace(&path, &database(us_country));
    let db = GeoIpDatabase::open(&path).unwrap();
    (path, Arc::new(db))
}

/// Lookups give the facts and the database network's prefix, for hits and misses.
#[test]
fn lookups_give_facts_and_network_prefix() {
    let (path, db) = open("US");
    let hit = db.lookup("192.0.2.77".parse().unwrap()).unwrap();
    assert_eq!(hit.network_prefix, 23);
    assert_eq!(hit.facts.country, Code::new("DE"));
    assert_eq!(hit.facts.continent, Code::new("EU"));
    assert_eq!(hit.facts.subdivision, Code::new("DE-BY"));
    assert_eq!(hit.facts.asn, Some(64_500));
    assert_eq!(hit.facts.lat_lon, Some((48.1, 11.6)));
    let v6 = db.lookup("2001:db8::5".parse().unwrap()).unwrap();
    assert_eq!((v6.facts.country, v6.network_prefix), (Code::new("SG"), 32));
    let miss = db.lookup("203.0.113.1".parse().unwrap()).unwrap();
    assert!(miss.facts.is_unknown());
    assert!(
        miss.network_prefix > 0 && miss.network_prefix <= 8,
        "{}",
        miss.network_prefix
    );
    assert_eq!(db.database_type().as_deref(), Some("GeoIP2-City"));
    std::fs::remove_file(path).ok();
}

/// A corrupt or missing file is reported and the last good database stays in use; a good
/// replacement is picked up.
#[test]
fn reload_keeps_the_last_good_database() {
    let (path, db) = open("US");
    let us = |db: &GeoIpDatabase| {
        db.lookup("198.51.100.1".parse().unwrap())
            .unwrap()
            .facts
            .country
    };
    assert_eq!(db.reload_if_changed().unwrap(), Reload::Unchanged);
    replace(&path, b"this is not a maxmind database at all");
    let error = db.reload_if_changed().unwrap_err();
    assert!(
        error.to_string().contains("not a valid maxmind db"),
        "{error}"
    );
    assert_eq!(us(&db), Code::new("US"));
    std::fs::remove_file(&path).unwrap();
    let error = db.reload_if_changed().unwrap_err();
    assert!(error.to_string().contains("cannot read"), "{error}");
    assert_eq!(us(&db), Code::new("US"));
    replace(&path, &database("CA"));
    assert_eq!(db.reload_if_changed().unwrap(), Reload::Reloaded);
    assert_eq!(us(&db), Code::new("CA"));
    assert!(GeoIpDatabase::open(path.with_extension("absent")).is_err());
    std::fs::remove_file(path).ok();
}

/// A table entry wins over GeoIP, and the cell around a GeoIP hit stops at table networks.
#[test]
fn the_cidr_table_wins_over_geoip() {
    let (path, db) = open("US");
    let paris = GeoFacts {
        continent: Code::new("EU"),
        country: Code::new("FR"),
        ..GeoFacts::default()
    };
    let locator = ClientLocator::new(
        PrefixTable::new([("192.0.2.128/25".parse().unwrap(), paris)]),
        Some(db),
    );
    let (facts, prefix, source) = locator.locate("192.0.2.200".parse().unwrap());
    assert_eq!((facts, prefix, source), (paris, 25, GeoSource::Table));
    let (facts, prefix, source) = locator.locate("192.0.2.5".parse().unwrap());
    assert_eq!(
        (facts.country, prefix, source),
        (Code::new("DE"), 25, GeoSource::GeoIp)
    );
    // The other half of the /23 must still stop short of the table's /25: /24.
    let (facts, prefix, source) = locator.locate("192.0.3.5".parse().unwrap());
    assert_eq!(
        (facts.country, prefix, source),
        (Code::new("DE"), 24, GeoSource::GeoIp)
    );
    let (facts, prefix, _) = locator.locate("198.51.100.9".parse().unwrap());
    assert_eq!((facts.country, prefix), (Code::new("US"), 22));
    std::fs::remove_file(path).ok();
}

const GEO: &str = r#"{"geo":{"rules":[
    {"match":[{"subdivision":"DE-BY"}],"node":{"region":"eu"}},
    {"match":[{"asn":64501}],"node":{"region":"us"}},
    {"match":[{"continent":"EU"}],"node":{"failover":[{"region":"us"},{"region":"eu"}]}}],
  "default":{"region":"ap"}}}"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Over GeoIP networks (plus a table entry), every address inside the scope a geo answer
    /// claims gets the same answer, and the scope never exceeds the source prefix.
    #[test]
    fn geo_scope_over_geoip_is_correct(
        base in prop_oneof![Just(0xc000_0200u32), Just(0xc633_6400u32), Just(0x0a00_0000u32), any::<u32>()],
        low in any::<u32>(),
        low_bits in 0u32..26,
        source in 0u8..=32,
        others in proptest::collection::vec(any::<u32>(), 12),
    ) {
        let (path, db) = open("US");
        let locator = ClientLocator::new(
            PrefixTable::new([("10.20.0.0/16".parse().unwrap(), GeoFacts { continent: Code::new("NA"), ..GeoFacts::default() })]),
            Some(db),
        );
        let inputs = world();
        let record = compile(GEO, "", &inputs);
        let addr = Ipv4Addr::from(base ^ (low & ((1u32 << low_bits) - 1)));
        let transport: IpAddr = "192.0.2.1".parse().unwrap();
        let facts = locator.facts(transport, Some((IpAddr::V4(addr), source)));
        let decision = evaluate(&record, &inputs, &facts, NOW, 0);
        prop_assert!(decision.scope <= source);
        let region = region_of(&decision, &inputs).to_string();
        let scope = u32::from(decision.scope);
        for other in others {
            let host_mask = if scope == 0 { u32::MAX } else { u32::MAX >> scope };
            let other = Ipv4Addr::from((u32::from(addr) & !host_mask) | (other & host_mask));
            let other_facts = locator.facts(transport, Some((IpAddr::V4(other), source)));
            let other_region = region_of(&evaluate(&record, &inputs, &other_facts, NOW, 0), &inputs).to_string();
            prop_assert_eq!(&other_region, &region, "{}/{} scope {} vs {}", addr, source, scope, other);
        }
        std::fs::remove_file(path).ok();
    }
}

/// The reloader task picks up a replaced file by itself and stops on shutdown.
#[tokio::test]
async fn the_reloader_follows_the_file() {
    let (path, db) = open("US");
    let shutdown = tokio_util::sync::CancellationToken::new();
    let task = tokio::spawn(gslb_dns::client::geoip::run_geoip_reloader(
        Arc::clone(&db),
        std::time::Duration::from_millis(10),
        shutdown.clone(),
    ));
    replace(&path, &database("CA"));
    // Wait for the condition, with a reason, instead of sleeping a fixed time.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let country = db
            .lookup("198.51.100.1".parse().unwrap())
            .unwrap()
            .facts
            .country;
        if country == Code::new("CA") {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "reloader never picked up the new database"
        );
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    task.await.unwrap();
    std::fs::remove_file(path).ok();
}
