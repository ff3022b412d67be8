//! Great-circle distance for `proximity` policies.

/// Mean Earth radius in kilometres (IUGG).
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// Distance in kilometres between two points given in degrees (haversine formula).
pub fn great_circle_km(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_distances() {
        // Frankfurt ↔ New York ≈ 6200 km; a point to itself is 0; antipodes ≈ half the globe.
        let fra_nyc = great_circle_km(50.11, 8.68, 40.71, -74.01);
        assert!((6150.0..6250.0).contains(&fra_nyc), "{fra_nyc}");
        assert_eq!(great_circle_km(1.0, 2.0, 1.0, 2.0), 0.0);
        let half = great_circle_km(0.0, 0.0, 0.0, 180.0);
        assert!((half - std::f64::consts::PI * EARTH_RADIUS_KM).abs() < 1.0);
    }
}
