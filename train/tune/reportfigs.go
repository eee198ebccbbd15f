package tune

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"strings"

	"github.com/rlgo/rlgo/train/report"
)

// figure is a figure of the experiment's own (parallel coordinates,
// scatter plots) in the report directory: name.png and name.svg.
type figure struct {
	name, title string
}

// parametersHeading heads the experiment's figures in report.html and
// summary.md.
const parametersHeading = "Parameters against the metric"

// addFigures puts figs into the report that report.Generate wrote in
// dir: in report.html after its last figure, the PNG inline as a data:
// URI as the report's own (the page stays self-contained), and in
// summary.md after its figures, as links to the PNG files.
func addFigures(dir string, figs []figure) error {
	if len(figs) == 0 {
		return nil
	}
	var h, md bytes.Buffer
	fmt.Fprintf(&h, "<h2>%s</h2>\n", parametersHeading)
	fmt.Fprintf(&md, "## %s\n\n", parametersHeading)
	for _, f := range figs {
		png, err := os.ReadFile(filepath.Join(dir, f.name+".png"))
		if err != nil {
			return fmt.Errorf("tune: report: %w", err)
		}
		title := html.EscapeString(f.title)
		fmt.Fprintf(&h, "<figure id=\"%s\">\n<img src=\"data:image/png;base64,%s\" alt=\"%s\">\n<figcaption>%s (<a href=\"%s.svg\">SVG</a>)</figcaption>\n</figure>\n",
			html.EscapeString(f.name), base64.StdEncoding.EncodeToString(png), title, title, html.EscapeString(f.name))
		fmt.Fprintf(&md, "![%s](%s.png)\n\n", f.title, f.name)
	}
	if err := insertInto(filepath.Join(dir, report.HTMLFile), h.String(), afterLastFigureHTML); err != nil {
		return err
	}
	return insertInto(filepath.Join(dir, report.MarkdownFile), md.String(), afterFiguresMarkdown)
}

// insertInto inserts text into the file at the offset where returns.
func insertInto(path, text string, where func(string) int) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("tune: report: %w", err)
	}
	s := string(b)
	at := where(s)
	return writeAtomic(path, []byte(s[:at]+text+s[at:]))
}

// afterLastFigureHTML is the offset just after the page's last
// </figure> line, else before </body>, else the end.
func afterLastFigureHTML(s string) int {
	if i := strings.LastIndex(s, "</figure>\n"); i >= 0 {
		return i + len("</figure>\n")
	}
	if i := strings.LastIndex(s, "</body>"); i >= 0 {
		return i
	}
	return len(s)
}

// afterFiguresMarkdown is the offset after the paragraph of the
// summary's last image line (its figures come before its notes and
// tables), else before its first second-level heading, else the end.
func afterFiguresMarkdown(s string) int {
	last := -1
	for off := 0; off < len(s); {
		end := strings.IndexByte(s[off:], '\n')
		if end < 0 {
			end = len(s) - off
		}
		if strings.HasPrefix(s[off:], "![") {
			last = off + end
		}
		off += end + 1
	}
	if last >= 0 {
		if i := strings.Index(s[last:], "\n\n"); i >= 0 {
			return last + i + 2
		}
		return len(s)
	}
	if i := strings.Index(s, "\n## "); i >= 0 {
		return i + 1
	}
	return len(s)
}
