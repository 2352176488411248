//! The progress bar of the long operator commands (`replay`, `migrate`).

use indicatif::{ProgressBar, ProgressStyle};

pub struct Bar(ProgressBar);

impl Bar {
    /// Events done of all, rate and time left.
    pub fn events() -> anyhow::Result<Self> {
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} events  {per_sec}  eta {eta}")?;
        Ok(Self(ProgressBar::new(0).with_style(style)))
    }

    /// Telemetry records copied of all, rate and time left; starts at `done`.
    pub fn records(total: u64, done: u64) -> anyhow::Result<Self> {
        let style =
            ProgressStyle::with_template("{bar:40} {pos}/{len} records  {per_sec}  eta {eta}")?;
        let bar = ProgressBar::new(total).with_style(style);
        bar.set_position(done);
        Ok(Self(bar))
    }

    pub fn set(&self, done: u64) {
        self.0.set_position(done);
    }

    pub fn done(&self) {
        self.0.finish();
    }
}

impl replay::Progress for Bar {
    fn start(&mut self, total: u64) {
        self.0.set_length(total);
    }
    fn advance(&mut self, done: u64) {
        self.0.set_position(done);
    }
    fn finish(&mut self) {
        self.0.finish();
    }
}
