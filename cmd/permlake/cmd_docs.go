package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	sqlfiles "github.com/permlake/permlake/sql"
	"github.com/permlake/permlake/sql/docs"
)

func newDocsCmd(a *app) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "docs",
		Short: "Print the documentation of the marts, the models and the lake tables (Markdown or JSON)",
		Long: `docs documents what analysts and dashboards read: every mart and model from its YAML
(description, grain, columns, tests, formula) with its lineage (the models and lake tables it
reads, and the models that read it), then the lake's tables (columns, types, grain, partitions).
--format json writes the same as one object: {"marts": […], "models": […], "tables": […]}.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := docs.Build(sqlfiles.FS)
			if err != nil {
				return err
			}
			switch format {
			case "markdown", "md":
				return c.WriteMarkdown(a.stdout)
			case "json":
				enc := json.NewEncoder(a.stdout)
				enc.SetIndent("", "  ")
				return enc.Encode(c)
			}
			return withCode(exitUsage, fmt.Errorf("--format %q: want markdown or json", format))
		},
	}
	cmd.Flags().StringVar(&format, "format", "markdown", "output format: markdown or json")
	return cmd
}
