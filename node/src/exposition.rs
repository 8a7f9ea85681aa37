//! Metrics exposition for `GET /metrics`: the Prometheus text format 0.0.4 that the
//! `Content-Type: text/plain; version=0.0.4` answer promises (and `promtool check metrics`
//! checks), made from the OpenMetrics 1.0 text that `prometheus-client` encodes.
//!
//! The formats differ in what a scraper or linter trips on: an OpenMetrics counter family is
//! named without its `_total` suffix in `# HELP`/`# TYPE` (its samples carry it), the text
//! format names the family as its samples; OpenMetrics ends with `# EOF` and may carry
//! `# UNIT` lines, which the text format does not have. Samples are the same in both.

/// The content type of [`prometheus_text`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `openmetrics` (OpenMetrics 1.0 text, as `prometheus_client::encoding::text::encode`
/// writes it) as Prometheus text format 0.0.4: counter families' `# HELP` and `# TYPE` named
/// `<name>_total`, `# UNIT` and `# EOF` lines dropped, everything else as it was.
pub fn prometheus_text(openmetrics: &str) -> String {
    let lines: Vec<&str> = openmetrics.lines().collect();
    // Counter families, by the name their `# TYPE` line gives.
    let counters: std::collections::HashSet<&str> = lines
        .iter()
        .filter_map(|line| {
            let rest = line.strip_prefix("# TYPE ")?;
            let (name, kind) = rest.split_once(' ')?;
            (kind == "counter").then_some(name)
        })
        .collect();
    let mut out = String::with_capacity(openmetrics.len() + 16 * counters.len());
    for line in lines {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let renamed = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ').unwrap_or((rest, ""));
            counters
                .contains(name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        match renamed {
            Some(renamed) => out.push_str(renamed.trim_end()),
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_as_their_samples_and_openmetrics_only_lines_go() {
        let openmetrics = "# HELP veil_requests HTTP requests.\n\
                           # TYPE veil_requests counter\n\
                           veil_requests_total{route=\"/v1\"} 3\n\
                           # HELP veil_height finalized height.\n\
                           # TYPE veil_height gauge\n\
                           # UNIT veil_height blocks\n\
                           veil_height 7\n\
                           # HELP veil_latency_seconds latency.\n\
                           # TYPE veil_latency_seconds histogram\n\
                           veil_latency_seconds_sum 0.5\n\
                           veil_latency_seconds_count 2\n\
                           veil_latency_seconds_bucket{le=\"+Inf\"} 2\n\
                           # EOF\n";
        assert_eq!(
            prometheus_text(openmetrics),
            "# HELP veil_requests_total HTTP requests.\n\
             # TYPE veil_requests_total counter\n\
             veil_requests_total{route=\"/v1\"} 3\n\
             # HELP veil_height finalized height.\n\
             # TYPE veil_height gauge\n\
             veil_height 7\n\
             # HELP veil_latency_seconds latency.\n\
             # TYPE veil_latency_seconds histogram\n\
             veil_latency_seconds_sum 0.5\n\
             veil_latency_seconds_count 2\n\
             veil_latency_seconds_bucket{le=\"+Inf\"} 2\n"
        );
    }

    #[test]
    fn a_gauge_whose_name_is_also_a_counters_prefix_keeps_its_name() {
        let openmetrics = "# HELP a_total_x x.\n# TYPE a_total_x gauge\na_total_x 1\n\
                           # HELP a a.\n# TYPE a counter\na_total 2\n# EOF\n";
        let text = prometheus_text(openmetrics);
        assert!(text.contains("# TYPE a_total_x gauge\n"), "{text}");
        assert!(text.contains("# TYPE a_total counter\n"), "{text}");
        assert!(!text.contains("EOF"), "{text}");
    }
}
