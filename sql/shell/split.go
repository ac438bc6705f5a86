package shell

import "strings"

// splitStatements cuts text into the complete statements it holds (each ending in ';', the ';'
// kept) and the rest, an unfinished statement (empty or blank when text ends with a statement).
// A ';' inside a quoted string or identifier, a -- line comment or a /* block comment */ ends
// nothing: a statement such as `select ';'` runs whole. Statements that hold only comments and
// blanks are dropped.
func splitStatements(text string) (stmts []string, rest string) {
	const (
		code = iota
		single
		double
		line
		block
	)
	state, start := code, 0
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch state {
		case code:
			switch {
			case c == '\'':
				state = single
			case c == '"':
				state = double
			case c == '-' && i+1 < len(text) && text[i+1] == '-':
				state, i = line, i+1
			case c == '/' && i+1 < len(text) && text[i+1] == '*':
				state, i = block, i+1
			case c == ';':
				if s := strings.TrimSpace(text[start : i+1]); !onlyComments(s) {
					stmts = append(stmts, s)
				}
				start = i + 1
			}
		case single:
			// A quote inside a string is doubled (''): leaving and entering again reads it right.
			if c == '\'' {
				state = code
			}
		case double:
			if c == '"' {
				state = code
			}
		case line:
			if c == '\n' {
				state = code
			}
		case block:
			if c == '*' && i+1 < len(text) && text[i+1] == '/' {
				state, i = code, i+1
			}
		}
	}
	return stmts, text[start:]
}

// onlyComments reports whether a statement is empty once its comments are removed (";" alone,
// or "-- note\n;").
func onlyComments(s string) bool {
	var b strings.Builder
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "--"); i >= 0 {
			l = l[:i]
		}
		b.WriteString(l)
	}
	t := b.String()
	for {
		i := strings.Index(t, "/*")
		if i < 0 {
			break
		}
		j := strings.Index(t[i:], "*/")
		if j < 0 {
			t = t[:i]
			break
		}
		t = t[:i] + t[i+j+2:]
	}
	return strings.Trim(t, "; \t\r\n") == ""
}
