//! A small hand-written SVG writer for grouped horizontal bar charts: one group per metric, one
//! bar per series (filesystem), on a logarithmic axis (the numbers compared span decades), with
//! an optional labelled reference line (1.0 = the baseline). Numbers in different units never
//! share an axis: a chart is a stack of panels, one per unit, each with its own axis. Every
//! series has its own colour, and a bar without a number (failed, unsupported) is drawn as an
//! outlined marker in its series' colour with the reason written next to it.

use std::fmt::Write as _;

/// One bar: its length (None: no number, only the marker and the text) and the text written
/// after it (for a bar without a number: what happened, e.g. "failed: EIO").
pub(crate) struct Bar {
    pub value: Option<f64>,
    pub text: String,
}

/// The bars of one metric, one per series in series order.
pub(crate) struct Group {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Groups sharing one axis (one unit).
pub(crate) struct Panel {
    /// Shown above the panel, e.g. "files/s (longer is faster)"; empty: no heading.
    pub title: String,
    pub groups: Vec<Group>,
    /// A dashed vertical line at this value, with its label (e.g. 1.0, "native tmpfs").
    pub reference: Option<(f64, String)>,
}

pub(crate) struct Chart {
    pub title: String,
    pub subtitle: String,
    pub series: Vec<String>,
    pub panels: Vec<Panel>,
}

/// Distinct colours for the first 20 series (Tableau 20); later ones are spread around the
/// hue circle by the golden angle (see [`colour`]).
const PALETTE: [&str; 20] = [
    "#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#a0cbe8", "#ffbe7d", "#8cd17d", "#b6992d", "#499894", "#86bcb6",
    "#d37295", "#fabfd2", "#79706e", "#d4a6c8",
];

/// The colour of series `i`: its own for every series.
fn colour(i: usize) -> String {
    match PALETTE.get(i) {
        Some(c) => (*c).to_string(),
        None => format!("hsl({:.0},55%,45%)", (i as f64 * 137.508) % 360.0),
    }
}

const WIDTH: f64 = 960.0;
const LABEL_W: f64 = 210.0;
const X0: f64 = LABEL_W + 10.0;
const X1: f64 = WIDTH - 150.0;
const BAR_H: f64 = 13.0;
const BAR_GAP: f64 = 2.0;
const GROUP_GAP: f64 = 14.0;
const LEGEND_ROW: f64 = 18.0;
/// Room above a panel's bars (its heading and reference label) and below (its axis labels).
const PANEL_HEAD: f64 = 34.0;
const PANEL_FOOT: f64 = 26.0;
/// The longest reason written next to a bar without a number.
const REASON_CHARS: usize = 90;

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
        let top = 58.0 + legend_rows as f64 * LEGEND_ROW;
        let group_h = |g: &Group| g.bars.len() as f64 * (BAR_H + BAR_GAP) + GROUP_GAP;
        let panel_h =
            |p: &Panel| PANEL_HEAD + p.groups.iter().map(group_h).sum::<f64>() + PANEL_FOOT;
        let height = top + self.panels.iter().map(panel_h).sum::<f64>() + 10.0;

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
                colour(i)
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{y}">{}</text>"#,
                x + 16.0,
                escape(name)
            );
        }
        let mut y = top;
        for p in &self.panels {
            self.render_panel(&mut s, p, y, &group_h);
            y += panel_h(p);
        }
        s.push_str("</svg>\n");
        s
    }

    /// One panel from height `y0`: heading, its own axis, reference line, bars.
    fn render_panel(&self, s: &mut String, p: &Panel, y0: f64, group_h: &dyn Fn(&Group) -> f64) {
        let values: Vec<f64> = p
            .groups
            .iter()
            .flat_map(|g| g.bars.iter().filter_map(|b| b.value))
            .collect();
        let scale = Scale::new(&values, p.reference.as_ref().map(|r| r.0));
        if !p.title.is_empty() {
            let _ = writeln!(
                s,
                r#"<text x="10" y="{:.1}" font-weight="bold">{}</text>"#,
                y0 + 16.0,
                escape(&p.title)
            );
        }
        let top = y0 + PANEL_HEAD;
        let bottom = top + p.groups.iter().map(group_h).sum::<f64>();
        for (v, label) in scale.ticks() {
            let x = scale.x(v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{top:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#ddd"/>"##
            );
            let _ = writeln!(
                s,
                r##"<text x="{x:.1}" y="{:.1}" text-anchor="middle" fill="#555">{}</text>"##,
                bottom + 14.0,
                escape(&label)
            );
        }
        if let Some((v, label)) = &p.reference {
            let x = scale.x(*v);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{:.1}" x2="{x:.1}" y2="{bottom:.1}" stroke="#333" stroke-dasharray="4 3"/>"##,
                top - 6.0
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{:.1}" text-anchor="middle" font-size="11">{}</text>"#,
                top - 8.0,
                escape(label)
            );
        }
        let mut y = top;
        for g in &p.groups {
            let h = group_h(g) - GROUP_GAP;
            let _ = writeln!(
                s,
                r#"<text x="{LABEL_W}" y="{:.1}" text-anchor="end" dominant-baseline="middle">{}</text>"#,
                y + h / 2.0,
                escape(&g.label)
            );
            for (i, b) in g.bars.iter().enumerate() {
                let by = y + i as f64 * (BAR_H + BAR_GAP);
                let (end, text) = match b.value {
                    Some(v) => {
                        let x = scale.x(v);
                        let _ = writeln!(
                            s,
                            r#"<rect x="{X0}" y="{by:.1}" width="{:.1}" height="{BAR_H}" fill="{}"/>"#,
                            (x - X0).max(1.0),
                            colour(i)
                        );
                        (x.max(X0 + 1.0), b.text.clone())
                    }
                    None => {
                        // No number: an outlined marker in the series' colour says whose
                        // cell this is; the text says what happened.
                        let _ = writeln!(
                            s,
                            r#"<rect x="{X0}" y="{:.1}" width="{}" height="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
                            by + 1.0,
                            BAR_H - 2.0,
                            BAR_H - 2.0,
                            colour(i)
                        );
                        let series = self.series.get(i).map(String::as_str).unwrap_or("");
                        (X0 + BAR_H, format!("{series}: {}", shorten(&b.text)))
                    }
                };
                let _ = writeln!(
                    s,
                    r#"<text x="{:.1}" y="{:.1}" font-size="11" dominant-baseline="middle">{}</text>"#,
                    end + 4.0,
                    by + BAR_H / 2.0,
                    escape(&text)
                );
            }
            y += group_h(g);
        }
    }
}

/// `text` cut to [`REASON_CHARS`] characters, with an ellipsis when cut.
fn shorten(text: &str) -> String {
    let one_line = text.replace('\n', " ");
    if one_line.chars().count() <= REASON_CHARS {
        return one_line;
    }
    let mut cut: String = one_line.chars().take(REASON_CHARS - 1).collect();
    cut.push('…');
    cut
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
            panels: vec![Panel {
                title: String::new(),
                groups: groups(),
                reference: Some((1.0, "native".into())),
            }],
        }
    }

    fn groups() -> Vec<Group> {
        vec![
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
        ]
    }

    #[test]
    fn chart_is_well_formed_and_escaped() {
        let svg = chart().render();
        assert_well_formed(&svg);
        assert!(svg.contains("a &lt;title&gt; &amp; more"));
        assert!(svg.contains("fuse &quot;memfs&quot;"));
        assert!(svg.contains(">tmpfs: unsupported<") && svg.contains(">native<"));
        assert_eq!(
            svg.matches("<rect").count(),
            1 + 2 + 3 + 1,
            "background, legend, 3 bars, 1 marker"
        );
    }

    #[test]
    fn every_series_has_its_own_colour() {
        let series: Vec<String> = (0..40).map(|i| format!("fs{i}")).collect();
        let colours: std::collections::HashSet<String> = (0..40).map(colour).collect();
        assert_eq!(colours.len(), 40);
        let svg = Chart {
            title: "t".into(),
            subtitle: "s".into(),
            series,
            panels: vec![],
        }
        .render();
        assert_well_formed(&svg);
        for i in [0, 10, 11, 19, 20, 39] {
            assert!(svg.contains(&format!("fill=\"{}\"", colour(i))), "{i}");
        }
    }

    #[test]
    fn a_cell_without_a_number_is_labelled_with_its_series_and_reason() {
        let mut c = chart();
        c.panels[0].groups[0].bars[1] = Bar {
            value: None,
            text: format!("failed: {}", "x".repeat(200)),
        };
        let svg = c.render();
        assert_well_formed(&svg);
        assert!(
            svg.contains(">fuse &quot;memfs&quot;: failed: xxx"),
            "{svg}"
        );
        assert!(svg.contains("…<"), "long reasons are cut");
        assert!(svg.contains(&format!("fill=\"none\" stroke=\"{}\"", colour(1))));
        assert!(!svg.contains("#888"), "no anonymous grey text");
    }

    #[test]
    fn each_unit_gets_its_own_panel_and_axis() {
        let bar = |v: f64| Bar {
            value: Some(v),
            text: format!("{v}"),
        };
        let panel = |title: &str, values: &[f64]| Panel {
            title: title.into(),
            groups: values
                .iter()
                .map(|v| Group {
                    label: format!("m{v}"),
                    bars: vec![bar(*v)],
                })
                .collect(),
            reference: None,
        };
        let svg = Chart {
            title: "t".into(),
            subtitle: "s".into(),
            series: vec!["one".into()],
            panels: vec![
                panel("µs", &[2.0, 9.0]),
                panel("files/s", &[20_000.0, 50_000.0]),
            ],
        }
        .render();
        assert_well_formed(&svg);
        assert!(svg.contains(">µs<") && svg.contains(">files/s<"));
        // The latency panel's axis starts at 1, the rate panel's at 10k: on one shared axis
        // the microseconds would be squeezed against the left edge.
        assert!(svg.contains(">1<") && svg.contains(">10k<"));
        assert!(!svg.contains(">100<") && !svg.contains(">1k<"), "{svg}");
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
