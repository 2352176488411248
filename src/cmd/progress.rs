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
