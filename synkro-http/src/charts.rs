//! Charts for the dashboard, drawn on the server as SVG (issue 14): no chart JavaScript, nothing
//! inline a strict Content-Security-Policy would block (colours come from CSS classes, not
//! `style` attributes), every label escaped (stage, manager and deal names are
//! attacker-controlled text), and a title and `aria-label` for screen readers.
//!
//! - [`bar_chart`]: labelled horizontal bars, such as deals by stage or the median first
//!   response per manager;
//! - [`trend`]: a small line per series over the last reports, such as deals, deals with
//!   dialogs and messages over the last 30 reports.

use std::fmt::Write;

/// Width of every chart in SVG units (it scales with its container).
const WIDTH: u32 = 640;
/// Height of one bar's row.
const ROW: u32 = 24;
/// Width kept for the labels on the left.
const LABEL: u32 = 200;
/// Width kept for the values on the right.
const VALUE: u32 = 90;
/// Longest label drawn, in characters (the full text stays in the bar's tooltip).
const LABEL_CHARS: usize = 28;

/// One bar: a label and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    /// What the bar is (a stage, a manager); any text.
    pub label: String,
    /// Its value.
    pub value: u64,
    /// The value as people read it (`12`, `5 h 10 min`).
    pub shown: String,
}

/// `text` safe inside SVG/HTML text and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters have no place in a label.
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The first [`LABEL_CHARS`] characters of `label`, with `…` when cut.
fn short(label: &str) -> String {
    match label.char_indices().nth(LABEL_CHARS) {
        Some((end, _)) => format!("{}…", &label[..end]),
        None => label.to_owned(),
    }
}

/// Horizontal bars, one row each in the given order, scaled to the largest value; `title`
/// names the chart for screen readers. With no bars (or only zeros) it says `empty` instead.
pub fn bar_chart(title: &str, bars: &[Bar], empty: &str) -> String {
    let title = escape(title);
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    if max == 0 {
        return format!(
            "<svg class=\"chart chart-empty\" role=\"img\" aria-label=\"{title}\" viewBox=\"0 0 {WIDTH} {ROW}\" \
             xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title><text class=\"chart-note\" x=\"0\" y=\"16\">{}\
             </text></svg>",
            escape(empty)
        );
    }
    let height = ROW * bars.len() as u32;
    let room = u64::from(WIDTH - LABEL - VALUE);
    let mut out = format!(
        "<svg class=\"chart chart-bars\" role=\"img\" aria-label=\"{title}\" viewBox=\"0 0 {WIDTH} {height}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>"
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = ROW * i as u32;
        // Every non-zero value shows at least a sliver.
        let width = if bar.value == 0 { 0 } else { (bar.value * room).div_ceil(max).max(2) };
        let (label, full, shown) = (escape(&short(&bar.label)), escape(&bar.label), escape(&bar.shown));
        let _ = write!(
            out,
            "<g class=\"chart-row\"><title>{full}: {shown}</title>\
             <text class=\"chart-label\" x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{label}</text>\
             <rect class=\"chart-bar\" x=\"{LABEL}\" y=\"{ry}\" width=\"{width}\" height=\"{bh}\"/>\
             <text class=\"chart-value\" x=\"{vx}\" y=\"{ty}\">{shown}</text></g>",
            lx = LABEL - 8,
            ty = y + 16,
            ry = y + 4,
            bh = ROW - 8,
            vx = u64::from(LABEL) + width + 6,
        );
    }
    out.push_str("</svg>");
    out
}

/// One line of a [`trend`]: a name (its CSS class is `trend-<index>`) and its values, oldest
/// first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Series {
    /// What the line shows (in the legend and for screen readers).
    pub name: String,
    /// The values, oldest first.
    pub values: Vec<u64>,
}

/// Width and height of a trend.
const TREND: (u32, u32) = (240, 48);

/// Small lines, one per series, each scaled to its own largest value (the trend's shape is what
/// counts; the numbers are beside it on the page), oldest on the left. A series of fewer than two
/// values draws a dot.
pub fn trend(title: &str, series: &[Series]) -> String {
    let title = escape(title);
    let (w, h) = TREND;
    let mut out = format!(
        "<svg class=\"chart chart-trend\" role=\"img\" aria-label=\"{title}\" viewBox=\"0 0 {w} {h}\" \
         xmlns=\"http://www.w3.org/2000/svg\"><title>{title}</title>"
    );
    for (i, s) in series.iter().enumerate() {
        let max = s.values.iter().copied().max().unwrap_or(0).max(1);
        let steps = s.values.len().saturating_sub(1).max(1) as u64;
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(n, v)| {
                let x = n as u64 * u64::from(w - 4) / steps + 2;
                let y = u64::from(h - 2) - v * u64::from(h - 4) / max;
                format!("{x},{y}")
            })
            .collect();
        let name = escape(&s.name);
        match points.as_slice() {
            [] => {}
            [one] => {
                let (x, y) = one.split_once(',').unwrap_or(("2", "2"));
                let _ = write!(
                    out,
                    "<circle class=\"trend-{i}\" cx=\"{x}\" cy=\"{y}\" r=\"2\"><title>{name}</title></circle>"
                );
            }
            many => {
                let _ = write!(
                    out,
                    "<polyline class=\"trend-{i}\" fill=\"none\" points=\"{}\"><title>{name}</title></polyline>",
                    many.join(" ")
                );
            }
        }
    }
    out.push_str("</svg>");
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn bar(label: &str, value: u64) -> Bar {
        Bar { label: label.to_owned(), value, shown: value.to_string() }
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_keep_their_order() {
        let svg = bar_chart("Deals by stage", &[bar("Won", 10), bar("Lost", 5), bar("New", 0)], "no deals");
        assert!(svg.starts_with("<svg class=\"chart chart-bars\" role=\"img\" aria-label=\"Deals by stage\""));
        assert!(svg.contains("viewBox=\"0 0 640 72\""), "{svg}");
        // 350 units of room: 10 → 350, 5 → 175, 0 → nothing.
        let widths: Vec<&str> = svg.match_indices("width=\"").map(|(at, _)| &svg[at + 7..]).collect();
        let widths: Vec<&str> = widths.iter().map(|w| &w[..w.find('"').unwrap_or(0)]).collect();
        assert_eq!(widths, ["350", "175", "0"]);
        assert!(svg.find(">Won<").unwrap() < svg.find(">Lost<").unwrap());
        assert!(!svg.contains("style="), "colours come from CSS classes (CSP)");
    }

    #[test]
    fn labels_are_escaped_and_long_ones_cut_with_the_full_text_in_the_tooltip() {
        let evil = "<script>alert('x')</script> & \"quotes\"";
        let svg = bar_chart("<b>title</b>", &[bar(evil, 1)], "none");
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quotes&quot;"), "{svg}");
        assert!(svg.contains("aria-label=\"&lt;b&gt;title&lt;/b&gt;\""));
        let long = "Очень длинное название этапа воронки продаж";
        let svg = bar_chart("t", &[bar(long, 1)], "none");
        assert!(svg.contains(">Очень длинное название этапа…<"), "{svg}");
        assert!(svg.contains(&format!("<title>{long}: 1</title>")));
    }

    #[test]
    fn an_empty_chart_says_so() {
        let svg = bar_chart("Managers", &[], "No dialogs yet");
        assert!(svg.contains("chart-empty") && svg.contains(">No dialogs yet<"), "{svg}");
        assert_eq!(bar_chart("x", &[bar("a", 0)], "nothing"), bar_chart("x", &[], "nothing"));
    }

    #[test]
    fn trends_draw_a_line_per_series_oldest_on_the_left() {
        let series = [
            Series { name: "deals".into(), values: vec![0, 5, 10] },
            Series { name: "<i>messages</i>".into(), values: vec![7] },
            Series { name: "none".into(), values: vec![] },
        ];
        let svg = trend("Last reports", &series);
        assert!(svg.contains("<polyline class=\"trend-0\" fill=\"none\" points=\"2,46 120,24 238,2\">"), "{svg}");
        assert!(svg.contains("<circle class=\"trend-1\" cx=\"2\" cy=\"2\" r=\"2\"><title>&lt;i&gt;messages&lt;/i&gt;"));
        assert!(!svg.contains("trend-2"), "an empty series draws nothing");
    }
}
