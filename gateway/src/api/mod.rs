//! The HTTPS API: the server over mutual TLS ([`server`]), one module per resource under
//! [`routes`], RFC 9457 problems ([`problem`], the only place that maps errors to HTTP
//! statuses), Prometheus [`metrics`] and the web [`console`].
//!
//! Depends on [`crate::service`] (what a request does), [`crate::entry`] (request types),
//! [`crate::consortium`] (configs) and [`crate::client`] (the console's forwarding).

pub mod console;
pub mod problem;
pub mod routes;
pub mod server;
