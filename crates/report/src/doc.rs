//! A tiny document model rendered both to Markdown and to a self-contained HTML page.

/// One block of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1..=4.
    Heading(u8, String),
    /// A paragraph of plain text.
    Para(String),
    /// A table: header and rows of plain-text cells.
    Table(Vec<String>, Vec<Vec<String>>),
    /// A chart: title, path relative to the report's directory (for Markdown), SVG text (for HTML).
    Image(String, String, String),
    /// Preformatted text (e.g. the config file).
    Pre(String),
    /// A collapsible section (a plain section in Markdown).
    Details(String, Vec<Block>),
    /// A bulleted list of plain-text items.
    List(Vec<String>),
    /// A highlighted notice (a quote block in Markdown, a framed box in HTML).
    Banner(String),
    /// A paragraph of text runs, some of them links.
    Rich(Vec<Inline>),
}

/// A run of text inside [`Block::Rich`].
#[derive(Debug, Clone, PartialEq)]
pub enum Inline {
    /// Plain text.
    Text(String),
    /// A link: text and target URL.
    Link(String, String),
}

/// Renders blocks as GitHub-flavoured Markdown.
pub fn to_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for b in blocks {
        md_block(&mut out, b);
    }
    out
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn md_block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(level, text) => {
            out.push_str(&"#".repeat(*level as usize));
            out.push(' ');
            out.push_str(text);
            out.push_str("\n\n");
        }
        Block::Para(text) => {
            out.push_str(text);
            out.push_str("\n\n");
        }
        Block::Table(header, rows) => {
            out.push_str(&format!(
                "| {} |\n",
                header.iter().map(|h| md_cell(h)).collect::<Vec<_>>().join(" | ")
            ));
            out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
            for r in rows {
                out.push_str(&format!(
                    "| {} |\n",
                    r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")
                ));
            }
            out.push('\n');
        }
        Block::Image(title, rel, _) => {
            out.push_str(&format!("![{}]({})\n\n", md_cell(title), rel));
        }
        Block::Pre(text) => {
            out.push_str("```\n");
            out.push_str(text);
            if !text.ends_with('\n') {
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        Block::Details(summary, inner) => {
            out.push_str(&format!("**{summary}**\n\n"));
            for b in inner {
                md_block(out, b);
            }
        }
        Block::List(items) => {
            for i in items {
                out.push_str(&format!("- {}\n", i.replace('\n', " ")));
            }
            out.push('\n');
        }
        Block::Banner(text) => {
            out.push_str(&format!("> **{}**\n\n", text.replace('\n', " ")));
        }
        Block::Rich(runs) => {
            for r in runs {
                match r {
                    Inline::Text(t) => out.push_str(t),
                    Inline::Link(t, url) => out.push_str(&format!("[{t}]({url})")),
                }
            }
            out.push_str("\n\n");
        }
    }
}

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Standard base64 (RFC 4648, with padding), for `data:` URIs.
pub fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                o.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

const STYLE: &str = "body{font-family:DejaVu Sans,Liberation Sans,Arial,sans-serif;margin:24px auto;padding:0 16px;max-width:1440px;color:#111;line-height:1.4}\
h1{font-size:28px}h2{border-bottom:2px solid #ccc;padding-bottom:4px;margin-top:40px}\
table{border-collapse:collapse;margin:8px 0 16px;font-size:13px}\
th,td{border:1px solid #bbb;padding:3px 7px;text-align:left;vertical-align:top}\
th{background:#eee}tr:nth-child(even) td{background:#fafafa}\
figure{margin:12px 0}img{width:100%;max-width:1400px;height:auto;border:1px solid #ddd}\
figcaption{font-size:13px;color:#444}pre{background:#f4f4f4;padding:8px;overflow:auto;font-size:12px}\
details{margin:8px 0}summary{cursor:pointer;font-weight:bold}\
.banner{border:2px solid #b8860b;background:#fff8e1;padding:10px 14px;margin:12px 0;font-weight:bold}\
li{margin:6px 0}";

/// Renders blocks as one self-contained HTML page: inline CSS, charts as `data:` URIs, no external
/// references of any kind.
pub fn to_html(title: &str, blocks: &[Block]) -> String {
    let mut out = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    for b in blocks {
        html_block(&mut out, b);
    }
    out.push_str("</body>\n</html>\n");
    out
}

fn html_block(out: &mut String, b: &Block) {
    match b {
        Block::Heading(level, text) => {
            out.push_str(&format!("<h{level}>{}</h{level}>\n", escape(text)));
        }
        Block::Para(text) => out.push_str(&format!("<p>{}</p>\n", escape(text))),
        Block::Table(header, rows) => {
            out.push_str("<table>\n<tr>");
            for h in header {
                out.push_str(&format!("<th>{}</th>", escape(h)));
            }
            out.push_str("</tr>\n");
            for r in rows {
                out.push_str("<tr>");
                for c in r {
                    out.push_str(&format!("<td>{}</td>", escape(c)));
                }
                out.push_str("</tr>\n");
            }
            out.push_str("</table>\n");
        }
        Block::Image(title, _, svg) => {
            out.push_str(&format!(
                "<figure><img alt=\"{}\" src=\"data:image/svg+xml;base64,{}\"><figcaption>{}</figcaption></figure>\n",
                escape(title),
                base64(svg.as_bytes()),
                escape(title)
            ));
        }
        Block::Pre(text) => out.push_str(&format!("<pre>{}</pre>\n", escape(text))),
        Block::Details(summary, inner) => {
            out.push_str(&format!("<details><summary>{}</summary>\n", escape(summary)));
            for b in inner {
                html_block(out, b);
            }
            out.push_str("</details>\n");
        }
        Block::List(items) => {
            out.push_str("<ul>\n");
            for i in items {
                out.push_str(&format!("<li>{}</li>\n", escape(i)));
            }
            out.push_str("</ul>\n");
        }
        Block::Banner(text) => {
            out.push_str(&format!("<div class=\"banner\">{}</div>\n", escape(text)));
        }
        Block::Rich(runs) => {
            out.push_str("<p>");
            for r in runs {
                match r {
                    Inline::Text(t) => out.push_str(&escape(t)),
                    // A plain hyperlink: nothing is loaded from it, the page stays self-contained.
                    Inline::Link(t, url) => {
                        out.push_str(&format!("<a href=\"{}\">{}</a>", escape(url), escape(t)))
                    }
                }
            }
            out.push_str("</p>\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_rfc4648_vectors() {
        for (i, o) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<a href=\"x\">&'"), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;");
        let html = to_html("t", &[Block::Para("<script>".into())]);
        assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"));
    }
}
