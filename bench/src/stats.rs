//! Medians and ranges of per-round ratios.

pub fn ratio_summary(ratios: &[f64]) -> String {
    let mut sorted = ratios.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let (min, max) = (sorted[0], sorted[sorted.len() - 1]);
    format!(
        "median {median:.2}x (min {min:.2}x, max {max:.2}x, {} rounds)",
        sorted.len()
    )
}
