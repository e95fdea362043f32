//! What a run reports: per step and overall, as a table and as JSON.

#[derive(serde::Serialize, Default, Clone)]
pub struct Step {
    pub rate_target: u64,
    pub sent: u64,
    pub send_errors: u64,
    pub send_rate: f64,
    pub deliveries_expected: u64,
    pub deliveries: u64,
    pub deliveries_per_sec: f64,
    pub lost: u64,
    pub duplicated: u64,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    pub server_cpu_secs: f64,
    /// Share of the expected deliveries that arrived at least once (1.0: nothing missing).
    pub delivered_share: f64,
    /// Churn: reconnects, recovery latency (drop → recovering subscribe answered) and the
    /// recoveries the server could not complete.
    pub reconnects: u64,
    pub recovery_p50_ms: f64,
    pub recovery_p99_ms: f64,
    pub recovery_failures: u64,
}

#[derive(serde::Serialize, Default)]
pub struct Report {
    pub label: String,
    pub connections: usize,
    pub connection_failures: usize,
    pub rooms: usize,
    pub connect_secs: f64,
    pub server_rss_before: u64,
    pub server_rss_after: u64,
    pub bytes_per_connection: u64,
    /// RSS growth per connection from the first tenth connected to the last: what one more
    /// connection costs, without the one-time growth (and the noise) of the server's start.
    pub marginal_bytes_per_connection: u64,
    /// Server CPU spent while the connections opened (upgrade, connect with its token check,
    /// subscribe), per connection, µs.
    pub connect_cpu_us: f64,
    pub steps: Vec<Step>,
}

pub fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

pub fn print_table(report: &Report) {
    println!(
        "{} — {} connections ({} failed), {} rooms, connected in {:.1}s ({:.0} µs of server CPU each); server RSS {:.1} → {:.1} MiB ({} B/connection; {} B each past the first tenth)",
        report.label,
        report.connections,
        report.connection_failures,
        report.rooms,
        report.connect_secs,
        report.connect_cpu_us,
        report.server_rss_before as f64 / 1048576.0,
        report.server_rss_after as f64 / 1048576.0,
        report.bytes_per_connection,
        report.marginal_bytes_per_connection
    );
    if report.steps.is_empty() {
        return;
    }
    println!(
        "{:>8} {:>8} {:>9} {:>6} {:>11} {:>11} {:>6} {:>5} {:>8} {:>8} {:>8} {:>8} {:>8} {:>7}",
        "target/s",
        "sent",
        "sent/s",
        "errs",
        "deliveries",
        "deliv/s",
        "lost",
        "dup",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "p999 ms",
        "max ms",
        "cpu s"
    );
    for s in &report.steps {
        println!(
            "{:>8} {:>8} {:>9.0} {:>6} {:>11} {:>11.0} {:>6} {:>5} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>7.2}",
            s.rate_target,
            s.sent,
            s.send_rate,
            s.send_errors,
            s.deliveries,
            s.deliveries_per_sec,
            s.lost,
            s.duplicated,
            s.p50_ms,
            s.p90_ms,
            s.p99_ms,
            s.p999_ms,
            s.max_ms,
            s.server_cpu_secs
        );
        if s.reconnects > 0 {
            println!(
                "{:>8} churn: {} reconnects, recovery p50 {:.2} ms, p99 {:.2} ms, {} not recovered; {:.4} % of deliveries arrived, {} twice",
                "",
                s.reconnects,
                s.recovery_p50_ms,
                s.recovery_p99_ms,
                s.recovery_failures,
                s.delivered_share * 100.0,
                s.duplicated
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_come_from_the_sorted_samples() {
        let samples: Vec<u32> = (1..=1000).map(|n| n * 1000).collect();
        assert_eq!(percentile(&samples, 0.5), 501.0);
        assert_eq!(percentile(&samples, 0.99), 990.0);
        assert_eq!(percentile(&[], 0.99), 0.0);
    }
}
