//! The chart's vocabulary as the UI reads it: `ui/src/chart/spec.json` must be what
//! `spec::spec_json` writes (the UI's vitest then holds `query.ts` to the file), and the
//! word parsing the API and `sscope chart` share.

use streamscope_chart::Metric;
use streamscope_chart::spec::{self, parse_metrics, title};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ui/src/chart/spec.json");

/// Run with `SSCOPE_BLESS=1` to write the fixture after changing the spec on purpose.
#[test]
fn ui_spec_fixture_is_what_the_spec_module_writes() {
    let want = spec::spec_json();
    if std::env::var_os("SSCOPE_BLESS").is_some() {
        std::fs::write(FIXTURE, &want).expect("write ui/src/chart/spec.json");
    }
    let have = std::fs::read_to_string(FIXTURE).expect("ui/src/chart/spec.json");
    assert!(
        have == want,
        "ui/src/chart/spec.json is out of step with crates/chart/src/spec.rs; \
         run SSCOPE_BLESS=1 cargo test -p streamscope-chart --test spec, then make \
         ui/src/chart/query.ts agree (npm test says where)"
    );
}

#[test]
fn metric_words_name_metrics_sets_and_lists_each_metric_once() {
    assert_eq!(
        parse_metrics("both"),
        Ok(vec![Metric::Events, Metric::Bytes])
    );
    assert_eq!(
        parse_metrics("latency, all"),
        Ok(vec![
            Metric::Latency,
            Metric::Events,
            Metric::Bytes,
            Metric::Wire
        ])
    );
    assert_eq!(
        parse_metrics("wire,bytes"),
        Ok(vec![Metric::Wire, Metric::Bytes])
    );
    assert_eq!(parse_metrics("events,sparkles"), Err("sparkles".into()));
}

#[test]
fn every_metric_set_has_its_own_title() {
    assert_eq!(title(&[Metric::Events]), "Event rates");
    assert_eq!(
        title(&[Metric::Events, Metric::Bytes]),
        "Event and byte rates"
    );
    assert_eq!(
        title(&[Metric::Events, Metric::Bytes, Metric::Latency]),
        "Event and byte rates, latency"
    );
    assert_eq!(
        title(&[Metric::Events, Metric::Bytes, Metric::Wire, Metric::Latency]),
        "Event and byte rates, latency"
    );
    assert_eq!(
        title(&[Metric::Events, Metric::Latency]),
        "Rates and latency"
    );
    assert_eq!(title(&[Metric::Wire]), "Bytes on the wire");
    assert_eq!(
        title(&[Metric::Bytes, Metric::Wire]),
        "Payload and wire bytes"
    );
}

#[test]
fn the_default_height_grows_by_panel() {
    assert_eq!(spec::default_height(1), 360);
    assert_eq!(spec::default_height(3), 680);
}
