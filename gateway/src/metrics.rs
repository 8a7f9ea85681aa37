//! The gateway's Prometheus metrics (`GET /metrics`, prefix `veil_gateway_`): requests by
//! method, route and status and their latency; requests refused, by problem type; time to make
//! and to verify each kind of proof; CPU jobs (proving, verifying) waiting for a core and
//! running; the alerts the gateway holds.
//! Labels are route templates (`/v1/entries/{id}`), problem slugs and proof kinds, never ids
//! or field values.

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use veil_node::validation::{ProofHistograms, ProofKind, ProofTimer};

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ProblemLabel {
    problem: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    route: String,
}

/// The gateway's metrics.
pub struct GatewayMetrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    refusals: Family<ProblemLabel, Counter>,
    proving: ProofHistograms,
    verification: ProofHistograms,
    cpu_waiting: Gauge,
    cpu_running: Gauge,
    alerts: Gauge,
}

impl std::fmt::Debug for GatewayMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GatewayMetrics").finish_non_exhaustive()
    }
}

impl Default for GatewayMetrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("veil_gateway");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new([
                0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
            ])
        });
        registry.register(
            "requests",
            "HTTP requests by method, route and status",
            requests.clone(),
        );
        registry.register(
            "request_duration_seconds",
            "HTTP request latency",
            latency.clone(),
        );
        let refusals = Family::<ProblemLabel, Counter>::default();
        registry.register(
            "refusals",
            "requests answered with a problem (RFC 9457), by problem type: the last segment of \
             its `type` URI (malformed-request, forbidden, conflict, behind, ...)",
            refusals.clone(),
        );
        let proving = ProofHistograms::default();
        registry.register(
            "proving_seconds",
            "time to make one entry's proofs of one kind (range, relation, audit, settlement, \
             screening), labelled `proof`",
            proving.family().clone(),
        );
        let verification = ProofHistograms::default();
        registry.register(
            "proof_verify_seconds",
            "time to verify one proof or signature of an entry read, by kind, labelled `proof`",
            verification.family().clone(),
        );
        let cpu_waiting = Gauge::default();
        registry.register(
            "proving_queue",
            "CPU jobs (proving an entry, verifying one read) waiting for a core",
            cpu_waiting.clone(),
        );
        let cpu_running = Gauge::default();
        registry.register(
            "proving_running",
            "CPU jobs (proving an entry, verifying one read) running, at most one per core",
            cpu_running.clone(),
        );
        let alerts = Gauge::default();
        registry.register(
            "alerts",
            "Entries this gateway is a recipient of that it found wrong (GET /v1/alerts)",
            alerts.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            refusals,
            proving,
            verification,
            cpu_waiting,
            cpu_running,
            alerts,
        }
    }
}

impl GatewayMetrics {
    /// Records one request.
    pub fn observe(&self, method: &str, route: &str, status: u16, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                method: method.to_owned(),
                route: route.to_owned(),
                status,
            })
            .inc();
        self.latency
            .get_or_create(&RouteLabels {
                method: method.to_owned(),
                route: route.to_owned(),
            })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts a request refused with the problem whose type ends in `slug`.
    pub fn refused(&self, slug: &str) {
        self.refusals
            .get_or_create(&ProblemLabel {
                problem: slug.to_owned(),
            })
            .inc();
    }

    /// Records the time spent making one entry's proofs, by kind (kinds with none skipped).
    pub fn proved(&self, times: impl IntoIterator<Item = (ProofKind, Duration)>) {
        for (kind, elapsed) in times {
            self.proving.observe(kind, elapsed);
        }
    }

    /// What reports each verified proof's time to these metrics (the gateway's validator).
    pub fn proof_timer(&self) -> std::sync::Arc<dyn ProofTimer> {
        std::sync::Arc::new(self.verification.clone())
    }

    /// A CPU job started waiting for a core; the guard marks it running, then done.
    pub fn cpu_job(&self) -> CpuJob<'_> {
        self.cpu_waiting.inc();
        CpuJob {
            metrics: self,
            running: false,
        }
    }

    /// Sets the number of alerts the gateway holds.
    pub fn set_alerts(&self, count: u64) {
        self.alerts.set(i64::try_from(count).unwrap_or(i64::MAX));
    }

    /// The Prometheus text exposition (format 0.0.4, [`veil_node::exposition`]).
    pub fn encode(&self) -> String {
        let mut out = String::new();
        let registry = self.registry.lock().unwrap_or_else(|p| p.into_inner());
        let _ = prometheus_client::encoding::text::encode(&mut out, &registry);
        veil_node::exposition::prometheus_text(&out)
    }
}

/// A CPU job in [`GatewayMetrics`]' proving queue: waiting until [`CpuJob::start`], running
/// until dropped.
#[derive(Debug)]
pub struct CpuJob<'a> {
    metrics: &'a GatewayMetrics,
    running: bool,
}

impl CpuJob<'_> {
    /// The job got its core.
    pub fn start(&mut self) {
        if !self.running {
            self.running = true;
            self.metrics.cpu_waiting.dec();
            self.metrics.cpu_running.inc();
        }
    }
}

impl Drop for CpuJob<'_> {
    fn drop(&mut self) {
        if self.running {
            self.metrics.cpu_running.dec();
        } else {
            self.metrics.cpu_waiting.dec();
        }
    }
}
