//! Progress bars for long steps of `init`, `demo` and `bench` (indicatif), drawn only when
//! stderr is a terminal.

use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// Makes progress bars, or nothing when output is not a terminal.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Progress {
    enabled: bool,
}

impl Progress {
    /// Bars if stderr is a terminal.
    pub(crate) fn auto() -> Self {
        Self {
            enabled: std::io::stderr().is_terminal(),
        }
    }

    /// A bar of `len` units.
    pub(crate) fn bar(&self, message: &str, len: u64) -> Bar {
        if !self.enabled {
            return Bar(None);
        }
        let bar = ProgressBar::new(len);
        bar.set_style(
            ProgressStyle::with_template("{msg:40} [{bar:30}] {pos}/{len} {elapsed}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_message(message.to_owned());
        Bar(Some(bar))
    }

    /// A spinner for a step of unknown length.
    pub(crate) fn step(&self, message: &str) -> Bar {
        if !self.enabled {
            return Bar(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_message(message.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Bar(Some(bar))
    }
}

/// One bar (or nothing).
#[derive(Debug)]
pub(crate) struct Bar(Option<ProgressBar>);

impl Bar {
    /// One more unit done.
    pub(crate) fn inc(&self) {
        if let Some(bar) = &self.0 {
            bar.inc(1);
        }
    }

    /// Done.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.0 {
            bar.finish();
        }
    }
}
