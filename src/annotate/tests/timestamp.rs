use std::time::{Duration, UNIX_EPOCH};

use crate::annotate::utc_stamp;

fn at(secs: u64) -> String {
    utc_stamp(UNIX_EPOCH + Duration::from_secs(secs))
}

#[test]
fn utc_stamps_match_known_dates() {
    // Reference values from `date -u -d @SECS`.
    assert_eq!(at(0), "19700101T000000Z");
    assert_eq!(at(951_782_400), "20000229T000000Z"); // leap day of a /400 year
    assert_eq!(at(1_700_000_000), "20231114T221320Z");
    assert_eq!(at(1_709_251_199), "20240229T235959Z");
    assert_eq!(at(4_102_444_799), "20991231T235959Z");
    assert_eq!(
        utc_stamp(UNIX_EPOCH - Duration::from_secs(5)),
        "19700101T000000Z"
    );
}
