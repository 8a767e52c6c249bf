//! How the report writes a value: text HTML-escaped, amounts in the
//! reporting currency with thousands separators, shares as percentages, and
//! a null as "—", never as 0.

/// What the page shows for a null.
pub const NULL: &str = "—";

/// Text made safe inside HTML elements and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `digits` (ASCII digits) with a comma every three from the right.
fn group_thousands(digits: &str) -> String {
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `x` rounded to `decimals`, with thousands separators: 1234567.891 with
/// 2 decimals is "1,234,567.89". A value that rounds to zero has no sign.
pub fn number(x: f64, decimals: usize) -> String {
    // Halves away from zero, as money is rounded (`f64::round`); the
    // formatter alone would round them to even.
    let scale = 10f64.powi(decimals as i32);
    let text = format!("{:.*}", decimals, (x.abs() * scale).round() / scale);
    let (whole, fraction) = match text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (text.as_str(), None),
    };
    let is_zero = text.chars().all(|c| c == '0' || c == '.');
    let mut out = String::new();
    if x < 0.0 && !is_zero {
        out.push('-');
    }
    out.push_str(&group_thousands(whole));
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// A count with thousands separators.
pub fn count(n: Option<i64>) -> String {
    n.map_or(NULL.to_string(), |n| number(n as f64, 0))
}

/// A share as a percentage with one decimal: 0.1944 is "19.4%".
pub fn pct(x: Option<f64>) -> String {
    x.map_or(NULL.to_string(), |x| format!("{}%", number(x * 100.0, 1)))
}

/// A plain number with `decimals`, or "—".
pub fn decimal(x: Option<f64>, decimals: usize) -> String {
    x.map_or(NULL.to_string(), |x| number(x, decimals))
}

/// Amounts in the run's reporting currency (SPEC §3 `reporting_currency`).
#[derive(Debug, Clone)]
pub struct Money {
    /// What goes before the number: a symbol for the common currencies, else
    /// the ISO code and a space.
    prefix: String,
}

impl Money {
    pub fn new(currency: &str) -> Self {
        let prefix = match currency {
            "USD" => "$".to_string(),
            "EUR" => "€".to_string(),
            "GBP" => "£".to_string(),
            "JPY" => "¥".to_string(),
            code => format!("{code} "),
        };
        Money { prefix }
    }

    fn with_prefix(&self, x: f64, decimals: usize) -> String {
        let text = number(x, decimals);
        match text.strip_prefix('-') {
            Some(unsigned) => format!("-{}{unsigned}", self.prefix),
            None => format!("{}{text}", self.prefix),
        }
    }

    /// Whole units: "$1,234,568".
    pub fn whole(&self, x: Option<f64>) -> String {
        x.map_or(NULL.to_string(), |x| self.with_prefix(x, 0))
    }

    /// To the cent, as commissions are paid: "$1,234,567.89".
    pub fn cents(&self, x: Option<f64>) -> String {
        x.map_or(NULL.to_string(), |x| self.with_prefix(x, 2))
    }

    /// Short, for a chart's axis: "$1.2M", "$350k", "$900".
    pub fn short(&self, x: f64) -> String {
        let (scaled, suffix) = match x.abs() {
            a if a >= 1e9 => (x / 1e9, "B"),
            a if a >= 1e6 => (x / 1e6, "M"),
            a if a >= 1e3 => (x / 1e3, "k"),
            _ => (x, ""),
        };
        let decimals = usize::from(!suffix.is_empty() && scaled.abs() < 10.0);
        format!("{}{suffix}", self.with_prefix(scaled, decimals))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_have_thousands_separators_and_the_currency() {
        let usd = Money::new("USD");
        assert_eq!(usd.cents(Some(1234567.891)), "$1,234,567.89");
        assert_eq!(usd.whole(Some(-1234.5)), "-$1,235");
        assert_eq!(usd.whole(Some(2.5)), "$3");
        assert_eq!(usd.whole(Some(999.0)), "$999");
        assert_eq!(usd.whole(Some(-0.2)), "$0");
        assert_eq!(usd.whole(None), "—");
        assert_eq!(Money::new("CHF").whole(Some(100000.0)), "CHF 100,000");
        // 1.25 rounds half away from zero.
        assert_eq!(usd.short(1_250_000.0), "$1.3M");
        assert_eq!(usd.short(350_000.0), "$350k");
        assert_eq!(usd.short(-2_500.0), "-$2.5k");
        assert_eq!(pct(Some(0.19434)), "19.4%");
        assert_eq!(pct(None), "—");
        assert_eq!(count(Some(1434)), "1,434");
        assert_eq!(
            escape("<Ann & \"Bob\">"),
            "&lt;Ann &amp; &quot;Bob&quot;&gt;"
        );
    }
}
