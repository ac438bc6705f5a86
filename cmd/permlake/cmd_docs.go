package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/schemas"
)

func newDocsCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "docs",
		Short: "Print the lake tables' documentation (columns, types, grain, partitions) as Markdown",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return writeTableDocs(a.stdout)
		},
	}
}

func writeTableDocs(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# permlake lake tables\n\nPartitioned by `account_id=<12 digits>/date=YYYY-MM-DD/hour=HH` (read with `hive_types` so account_id stays text).\n")
	for _, t := range schemas.All {
		fmt.Fprintf(&b, "\n## %s\n\n%s\n\nGrain: %s.\n\n| column | type | description |\n|---|---|---|\n", t.Name, t.Doc, t.Grain)
		for _, c := range append(t.PartitionColumns(), t.Columns...) {
			fmt.Fprintf(&b, "| %s | %s | %s |\n", c.Name, c.Type, strings.ReplaceAll(c.Doc, "|", `\|`))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
