//! A small hand-written SVG writer for grouped horizontal bar charts: one group per metric, one
//! bar per series (filesystem), on a logarithmic axis (the numbers compared span decades), with
//! an optional labelled reference line (1.0 = the baseline).

use std::fmt::Write as _;

/// One bar: its length (None draws only the text) and the text written after it.
pub(crate) struct Bar {
    pub value: Option<f64>,
    pub text: String,
}

/// The bars of one metric, one per series in series order.
pub(crate) struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

pub(crate) struct Chart {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<String>,
    pub groups: Vec<Group>,
    /// A dashed vertical line at this value, with its label (e.g. 1.0, "native tmpfs").
    pub reference: Option<(f64, String)>,
}

const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];
const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 210.0;
const X0: f64 = LABEL_W + 10.0;
const X1: f64 = WIDTH - 150.0;
const BAR_H: f64 = 13.0;
const BAR_GAP: f64 = 2.0;
const GROUP_GAP: f64 = 14.0;
const LEGEND_ROW: f64 = 18.0;

/// Escapes text for XML content and attribute values.
pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Maps values to x positions: from the decade below the smallest positive value to a little
/// past the largest.
struct Scale {
    lo: f64,
    hi: f64,
}

impl Scale {
    fn new(values: &[f64], reference: Option<f64>) -> Scale {
        let (min, max) = values
            .iter()
            .copied()
            .chain(reference)
            .filter(|v| v.is_finite() && *v > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        if max > 0.0 {
            let lo = min.log10().floor();
            Scale {
                lo,
                hi: (max * 1.15).log10().max(lo + 1.0),
            }
        } else {
            Scale { lo: 0.0, hi: 1.0 }
        }
    }

    fn x(&self, v: f64) -> f64 {
        let t = (v.max(f64::MIN_POSITIVE).log10() - self.lo) / (self.hi - self.lo);
        X0 + t.clamp(0.0, 1.0) * (X1 - X0)
    }

    /// The decades inside the axis, with their labels.
    fn ticks(&self) -> Vec<(f64, String)> {
        (self.lo as i32..=self.hi.floor() as i32)
            .map(|d| {
                let v = 10f64.powi(d);
                (v, decade_label(d))
            })
            .collect()
    }
}

/// `10^d` written plainly: 0.01, 0.1, 1, 10, 100, 1k, 10k, ..., 1M, ..., 1G.
fn decade_label(d: i32) -> String {
    if d < 0 {
        return format!("{:.*}", (-d) as usize, 10f64.powi(d));
    }
    let (suffix, rest) = match d {
        0..=2 => ("", d),
        3..=5 => ("k", d - 3),
        6..=8 => ("M", d - 6),
        _ => ("G", d - 9),
    };
    format!("{}{suffix}", 10u64.pow(rest as u32))
}

impl Chart {
    pub(crate) fn render(&self) -> String {
        let values: Vec<f64> = self
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().filter_map(|b| b.value))
            .collect();
        let scale = Scale::new(&values, self.reference.as_ref().map(|r| r.0));
        // Legend entries as wide as the longest name (about 7 px a character).
        let longest = self
            .series
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0);
        let entry_w = (longest as f64 * 7.0 + 34.0).max(120.0);
        let per_row = ((WIDTH - 20.0) / entry_w).floor().max(1.0) as usize;
        let legend_rows = self.series.len().div_ceil(per_row).max(1);
        let top = 58.0 + legend_rows as f64 * LEGEND_ROW + 10.0;
        let group_h = |g: &Group| g.bars.len() as f64 * (BAR_H + BAR_GAP) + GROUP_GAP;
        let plot_h: f64 = self.groups.iter().map(group_h).sum();
        let bottom = top + plot_h;
        let height = bottom + 30.0;

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(
            s,
            r#"<rect x="0" y="0" width="{WIDTH}" height="{height}" fill="white"/>"#
        );
        let _ = writeln!(
            s,
            r#"<text x="10" y="22" font-size="16" font-weight="bold">{}</text>"#,
            escape(&self.title)
        );
        let _ = writeln!(
            s,
            r##"<text x="10" y="42" fill="#555">{}</text>"##,
            escape(&self.subtitle)
        );
        for (i, name) in self.series.iter().enumerate() {
            let x = 10.0 + (i % per_row) as f64 * entry_w;
            let y = 58.0 + (i / per_row) as f64 * LEGEND_ROW;
            let _ = writeln!(
                s,
                r#"<rect x="{x}" y="{}" width="12" height="12" fill="{}"/>"#,
                y - 10.0,
                PALETTE[i % PALETTE.len()]
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{y}">{}</text>"#,
                x + 16.0,
                escape(name)
            );
        }
        for (v, label) in scale.ticks() {
            let x = scale.x(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top}" x2="{x:.1}" y2="{bottom}" stroke="#ddd"/>"##
            );
            let _ = writeln!(
                s,
                r##"<text x="{x:.1}" y="{}" text-anchor="middle" fill="#555">{}</text>"##,
                bottom + 14.0,
                escape(&label)
            );
        }
        if let Some((v, label)) = &self.reference {
            let x = scale.x(*v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{bottom}" stroke="#333" stroke-dasharray="4 3"/>"##,
                top - 6.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{}" text-anchor="middle" font-size="11">{}</text>"#,
                top - 8.0,
                escape(label)
            );
        }
        let mut y = top;
        for g in &self.groups {
            let h = group_h(g) - GROUP_GAP;
            let _ = writeln!(
                s,
                r#"<text x="{LABEL_W}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
                y + h / 2.0,
                escape(&g.label)
            );
            for (i, b) in g.bars.iter().enumerate() {
                let by = y + i as f64 * (BAR_H + BAR_GAP);
                let end = match b.value {
                    Some(v) => {
                        let x = scale.x(v);
                        let _ = writeln!(
                            s,
                            r#"<rect x="{X0}" y="{by:.1}" width="{:.1}" height="{BAR_H}" fill="{}"/>"#,
                            (x - X0).max(1.0),
                            PALETTE[i % PALETTE.len()]
                        );
                        x.max(X0 + 1.0)
                    }
                    None => X0,
                };
                let style = if b.value.is_some() {
                    ""
                } else {
                    r##" fill="#888" font-style="italic""##
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="11" dominant-baseline="middle"{style}>{}</text>"#,
                    end + 4.0,
                    by + BAR_H / 2.0,
                    escape(&b.text)
                );
            }
            y += group_h(g);
        }
        s.push_str("</svg>\n");
        s
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Minimal well-formedness check: one `<svg` root, every tag closed in order, attributes
    /// quoted, no stray `&` or `<` in text.
    pub(crate) fn assert_well_formed(svg: &str) {
        assert!(svg.starts_with("<svg "), "starts with <svg");
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        let mut roots = 0;
        while let Some(i) = rest.find(['<', '&']) {
            let text = &rest[..i];
            assert!(!text.contains('>'), "stray > in text {text:?}");
            rest = &rest[i..];
            if rest.starts_with('&') {
                let end = rest.find(';').expect("entity ends with ;");
                let name = &rest[1..end];
                assert!(
                    ["amp", "lt", "gt", "quot", "apos"].contains(&name),
                    "unknown entity {name}"
                );
                rest = &rest[end + 1..];
                continue;
            }
            let end = rest.find('>').expect("tag closes");
            let tag = &rest[1..end];
            assert_eq!(
                tag.matches('"').count() % 2,
                0,
                "quotes balanced in <{tag}>"
            );
            assert!(!tag.contains('<'), "no < inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing {name}");
            } else {
                let name = tag.split_whitespace().next().expect("tag name").to_string();
                if stack.is_empty() {
                    roots += 1;
                    assert_eq!(name, "svg", "root element is svg");
                }
                if !tag.ends_with('/') {
                    stack.push(name);
                }
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "unclosed: {stack:?}");
        assert_eq!(roots, 1, "exactly one root");
        assert!(rest.trim().is_empty(), "nothing after the root");
    }

    fn chart() -> Chart {
        Chart {
            title: "a <title> & more".into(),
            subtitle: "sub".into(),
            series: vec!["tmpfs".into(), "fuse \"memfs\"".into()],
            groups: vec![
                Group {
                    label: "metadata".into(),
                    bars: vec![
                        Bar {
                            value: Some(1.0),
                            text: "1.00×".into(),
                        },
                        Bar {
                            value: Some(0.25),
                            text: "0.250×".into(),
                        },
                    ],
                },
                Group {
                    label: "randread-direct 1t".into(),
                    bars: vec![
                        Bar {
                            value: None,
                            text: "unsupported".into(),
                        },
                        Bar {
                            value: Some(3.0),
                            text: "3.00×".into(),
                        },
                    ],
                },
            ],
            reference: Some((1.0, "native".into())),
        }
    }

    #[test]
    fn chart_is_well_formed_and_escaped() {
        let svg = chart().render();
        assert_well_formed(&svg);
        assert!(svg.contains("a &lt;title&gt; &amp; more"));
        assert!(svg.contains("fuse &quot;memfs&quot;"));
        assert!(svg.contains(">unsupported<") && svg.contains(">native<"));
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 2 + 3,
            "background, legend, 3 bars"
        );
    }

    #[test]
    fn axis_has_decade_ticks() {
        let svg = chart().render();
        assert_well_formed(&svg);
        // values 0.25..3 → axis 0.1..3.45, decade ticks 0.1 and 1 only
        assert!(svg.contains(">0.1<") && svg.contains(">1<") && !svg.contains(">10<"));
    }

    #[test]
    fn checker_rejects_broken_markup() {
        for bad in [
            "<svg a=\"1\"><g></svg>",
            "<svg>x & y</svg>",
            "<div></div>",
            "<svg></svg><svg></svg>",
        ] {
            let r = std::panic::catch_unwind(|| assert_well_formed(bad));
            assert!(r.is_err(), "accepted {bad}");
        }
    }

    #[test]
    fn scale_maps_into_plot_area() {
        let s = Scale::new(&[0.5, 2.0], Some(1.0));
        assert!((s.x(0.1) - X0).abs() < 1e-9, "0.1 is the axis start");
        assert!((s.x(0.0) - X0).abs() < 1e-9, "zero clamps to the start");
        assert!(s.x(2.0) < X1 && s.x(2.0) > s.x(1.0));
        let l = Scale::new(&[3.0, 8_000.0], None);
        assert_eq!(l.lo, 0.0);
        assert!((l.hi - 9200f64.log10()).abs() < 1e-9);
        assert!((l.x(1000.0) - (X0 + 3.0 / l.hi * (X1 - X0))).abs() < 1e-6);
        let labels: Vec<String> = l.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["1", "10", "100", "1k"]);
        let small = Scale::new(&[0.002, 1.0], None);
        let labels: Vec<String> = small.ticks().into_iter().map(|t| t.1).collect();
        assert_eq!(labels, ["0.001", "0.01", "0.1", "1"]);
        assert_eq!(decade_label(7), "10M");
        assert_eq!(decade_label(9), "1G");
    }
}
