package shell

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/mattn/go-runewidth"
)

// Mode is how results are written.
type Mode string

// The output modes (.mode, --format).
const (
	ModeTable    Mode = "table"    // aligned columns, cells cut to the terminal's width
	ModeCSV      Mode = "csv"      // RFC 4180, a header line per result
	ModeJSON     Mode = "json"     // an array of objects per result, keys in the columns' order
	ModeMarkdown Mode = "markdown" // a Markdown table per result
)

// ParseMode checks a mode's name.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeTable, ModeCSV, ModeJSON, ModeMarkdown:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want table, csv, json or markdown", s)
}

// Result is one statement's rows, as database/sql scanned them into any.
type Result struct {
	Columns []string
	Rows    [][]any
}

// Write renders r in mode to w. width is the terminal's width in columns for ModeTable (cells
// are cut, with an ellipsis, so that no line is wider: a wide row never wraps); 0 or less cuts
// nothing (a file, a pipe).
func Write(w io.Writer, mode Mode, r Result, width int) error {
	switch mode {
	case ModeCSV:
		return writeCSV(w, r)
	case ModeJSON:
		return writeJSON(w, r)
	case ModeMarkdown:
		return writeMarkdown(w, r)
	default:
		return writeTable(w, r, width)
	}
}

func writeCSV(w io.Writer, r Result) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(r.Columns); err != nil {
		return err
	}
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = cellText(v)
		}
		if err := cw.Write(line); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// orderedRow is a row as a JSON object whose keys keep the result's column order (a map would
// sort them).
type orderedRow struct {
	cols []string
	vals []any
}

// MarshalJSON writes the object key by key; the encoder indents it.
func (o orderedRow) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, c := range o.cols {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(c)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(jsonValue(o.vals[i]))
		if err != nil {
			return nil, fmt.Errorf("column %s: %w", c, err)
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func writeJSON(w io.Writer, r Result) error {
	objs := make([]orderedRow, len(r.Rows))
	for i, row := range r.Rows {
		objs[i] = orderedRow{cols: r.Columns, vals: row}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(objs)
}

func writeMarkdown(w io.Writer, r Result) error {
	var b strings.Builder
	esc := func(s string) string { return strings.ReplaceAll(oneLine(s), "|", `\|`) }
	b.WriteString("|")
	for _, c := range r.Columns {
		b.WriteString(" " + esc(c) + " |")
	}
	b.WriteString("\n|")
	for range r.Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, row := range r.Rows {
		b.WriteString("|")
		for _, v := range row {
			b.WriteString(" " + esc(tableCell(v)) + " |")
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// gap is the blank between two table columns.
const gap = "  "

// writeTable aligns the columns, two blanks apart, the last one unpadded, then "(N rows)". Over
// width, the widest columns are narrowed first, each to no less than minCell, and the cells cut
// with an ellipsis; a line still too wide (many columns) is cut at width.
func writeTable(w io.Writer, r Result, width int) error {
	cells := make([][]string, 0, len(r.Rows)+1)
	cells = append(cells, make([]string, len(r.Columns)))
	for i, c := range r.Columns {
		cells[0][i] = oneLine(c)
	}
	for _, row := range r.Rows {
		line := make([]string, len(row))
		for i, v := range row {
			line[i] = oneLine(tableCell(v))
		}
		cells = append(cells, line)
	}
	widths := make([]int, len(r.Columns))
	for _, line := range cells {
		for i, c := range line {
			widths[i] = max(widths[i], runewidth.StringWidth(c))
		}
	}
	if width > 0 {
		fit(widths, width)
	}
	var b strings.Builder
	for _, line := range cells {
		var l strings.Builder
		for i, c := range line {
			c = truncate(c, widths[i])
			l.WriteString(c)
			if i < len(line)-1 {
				l.WriteString(strings.Repeat(" ", widths[i]-runewidth.StringWidth(c)))
				l.WriteString(gap)
			}
		}
		s := strings.TrimRight(l.String(), " ")
		if width > 0 {
			s = truncate(s, width)
		}
		b.WriteString(s)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "(%d rows)\n", len(r.Rows))
	_, err := io.WriteString(w, b.String())
	return err
}

// minCell is the narrowest a column is cut to: room for a character and the ellipsis.
const minCell = 4

// fit narrows widths, widest first, until the columns and their gaps fit in width or every
// column is down to minCell.
func fit(widths []int, width int) {
	total := func() int {
		n := len(gap) * max(len(widths)-1, 0)
		for _, w := range widths {
			n += w
		}
		return n
	}
	for over := total() - width; over > 0; over-- {
		widest := -1
		for i, w := range widths {
			if w > minCell && (widest < 0 || w > widths[widest]) {
				widest = i
			}
		}
		if widest < 0 {
			return
		}
		widths[widest]--
	}
}

// truncate cuts s to width display columns, its last one an ellipsis when anything was cut.
func truncate(s string, width int) string {
	if runewidth.StringWidth(s) <= width {
		return s
	}
	if width <= 0 {
		return ""
	}
	return runewidth.Truncate(s, width, "…")
}

// oneLine keeps a cell on one line: a table row never wraps.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ", "\t", " ").Replace(s)
}

// tableCell is a value as a table shows it: NULL spelled out.
func tableCell(v any) string {
	if v == nil {
		return "NULL"
	}
	return cellText(v)
}

// cellText is a value as text: timestamps in UTC RFC 3339, lists and structs as JSON, NULL as "".
func cellText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any, map[string]any:
		b, err := json.Marshal(jsonValue(x))
		if err != nil {
			return fmt.Sprint(x)
		}
		return string(b)
	default:
		return fmt.Sprint(x)
	}
}

// jsonValue is a value as JSON shows it: bytes as text, timestamps in UTC RFC 3339.
func jsonValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case []any:
		out := make([]any, len(x))
		for i := range x {
			out[i] = jsonValue(x[i])
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	default:
		return x
	}
}
