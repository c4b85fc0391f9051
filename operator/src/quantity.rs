//! Kubernetes quantities (`1.5Gi`, `500m`, `1e3`) as numbers, to compare
//! and add them.

/// A quantity's value (`<decimal><suffix>`, suffix binary `Ki`…`Ei`,
/// decimal `n`, `u`, `m`, `k`, `M`…`E`, or an exponent `e3`).
pub fn value(text: &str) -> Option<f64> {
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '+' || c == '-'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let mantissa: f64 = number.parse().ok()?;
    let scale = match suffix {
        "" => 1.0,
        "Ki" => 2f64.powi(10),
        "Mi" => 2f64.powi(20),
        "Gi" => 2f64.powi(30),
        "Ti" => 2f64.powi(40),
        "Pi" => 2f64.powi(50),
        "Ei" => 2f64.powi(60),
        "n" => 1e-9,
        "u" => 1e-6,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        "E" => 1e18,
        exponent => 10f64.powi(exponent.strip_prefix(['e', 'E'])?.parse().ok()?),
    };
    Some(mantissa * scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_scale_the_number() {
        assert_eq!(value("1.5Gi"), Some(1.5 * 1024.0 * 1024.0 * 1024.0));
        assert_eq!(value("500m"), Some(0.5));
        assert_eq!(value("2"), Some(2.0));
        assert_eq!(value("1e3"), Some(1000.0));
        assert_eq!(value("10k"), Some(10_000.0));
        assert_eq!(value("lots"), None);
    }
}
