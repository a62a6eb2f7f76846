//! Collecting samples by peer and figure, and rendering them: the markdown table and the
//! SVG chart of bench/results.

use std::collections::BTreeMap;

use std::process::Command;

use crate::peers::Peer;

#[derive(Default)]
pub(crate) struct Results {
    pub(crate) samples: BTreeMap<(String, String), Vec<f64>>,
    pub(crate) ciphers: BTreeMap<String, String>,
    pub(crate) notes: Vec<String>,
}

impl Results {
    pub(crate) fn add(&mut self, peer: &str, figure: &str, values: &[f64]) {
        self.samples
            .entry((peer.to_owned(), figure.to_owned()))
            .or_default()
            .extend_from_slice(values);
    }

    pub(crate) fn get(&self, peer: &str, figure: &str) -> Option<&Vec<f64>> {
        self.samples
            .get(&(peer.to_owned(), figure.to_owned()))
            .filter(|v| !v.is_empty())
    }
}

pub(crate) fn percentile(values: &[f64], p: f64) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

pub(crate) fn render_table(r: &Results, peers: &[Peer]) -> String {
    let med = |peer: &str, fig: &str, digits: usize| -> String {
        r.get(peer, fig)
            .map(|v| format!("{:.*}", digits, percentile(v, 0.5)))
            .unwrap_or_else(|| "n/a".into())
    };
    let med_p95 = |peer: &str, fig: &str| -> String {
        r.get(peer, fig)
            .map(|v| format!("{:.2} ({:.2})", percentile(v, 0.5), percentile(v, 0.95)))
            .unwrap_or_else(|| "n/a".into())
    };
    let mut out = String::new();
    let machine = machine_line();
    out.push_str(&format!("smol-ssh bench, {machine}\n\n"));
    out.push_str("| client | cipher (default) | warm `true` ms, median (p95) | login-shell `true` ms | cold ms | 100 MB, default cipher, MB/s | 100 MB, aes128-ctr, MB/s | 8 × `sleep 0.2` at once, s | commands/s, 1 / 4 / 8 in flight | round trips per warm command |\n");
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for p in peers {
        let n = p.name;
        out.push_str(&format!(
            "| {n} | {} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} |\n",
            r.ciphers.get(n).map(String::as_str).unwrap_or("?"),
            med_p95(n, "warm"),
            med_p95(n, "login"),
            med(n, "cold", 1),
            med(n, "throughput", 0),
            med(n, "throughput-equal", 0),
            med(n, "parallel", 3),
            med(n, "rate1", 0),
            med(n, "rate4", 0),
            med(n, "rate8", 0),
            med(n, "round-trips", 2),
        ));
    }
    out.push_str(&format!(
        "| local `bash -c true` | | {} | | | | | | | |\n",
        med_p95("local bash -c true", "warm")
    ));
    for note in &r.notes {
        out.push_str(&format!("\n{note}\n"));
    }
    out
}

pub(crate) fn machine_line() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("model name")
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        })
        .unwrap_or_else(|| "?".into());
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let ssh = Command::new("ssh")
        .arg("-V")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stderr).trim().to_owned())
        .unwrap_or_default();
    format!("{cores} cores ({cpu}), loopback sshd: {ssh}")
}

/// Two bar charts: warm `true` latency and 100 MB throughput, medians per client.
pub(crate) fn render_svg(r: &Results, peers: &[Peer]) -> String {
    let mut names: Vec<&str> = peers.iter().map(|p| p.name).collect();
    names.push("local bash -c true");
    let panel = |title: &str, fig: &str, unit: &str, y0: f64| -> String {
        let values: Vec<(&str, f64)> = names
            .iter()
            .filter_map(|n| r.get(n, fig).map(|v| (*n, percentile(v, 0.5))))
            .collect();
        let max = values.iter().map(|v| v.1).fold(0.0, f64::max).max(1e-9);
        let mut s = format!(
            "<text x=\"10\" y=\"{}\" font-size=\"15\" font-weight=\"bold\">{title}</text>\n",
            y0 + 18.0
        );
        for (i, (name, v)) in values.iter().enumerate() {
            let y = y0 + 30.0 + i as f64 * 24.0;
            let w = 420.0 * v / max;
            let color = if name.starts_with("smol-ssh") {
                "#d9480f"
            } else {
                "#868e96"
            };
            s.push_str(&format!(
                "<text x=\"190\" y=\"{:.0}\" font-size=\"12\" text-anchor=\"end\">{name}</text>\
                 <rect x=\"200\" y=\"{:.0}\" width=\"{w:.1}\" height=\"16\" fill=\"{color}\"/>\
                 <text x=\"{:.1}\" y=\"{:.0}\" font-size=\"12\">{v:.2} {unit}</text>\n",
                y + 12.0,
                y,
                205.0 + w,
                y + 12.0
            ));
        }
        s
    };
    let h1 = 40.0 + names.len() as f64 * 24.0;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"760\" height=\"{:.0}\" font-family=\"sans-serif\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n",
        2.0 * h1 + 20.0
    );
    svg.push_str(&panel(
        "warm `true` latency, median (lower is better)",
        "warm",
        "ms",
        0.0,
    ));
    svg.push_str(&panel(
        "100 MB of stdout, default cipher, median (higher is better)",
        "throughput",
        "MB/s",
        h1 + 10.0,
    ));
    svg.push_str("</svg>\n");
    svg
}
