package main

import (
	"time"

	"github.com/spf13/cobra"
)

func newModelsCmd(a *app) *cobra.Command {
	var nowFlag string
	var full bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Build the DuckDB models from the lake and run their data tests",
		Long: `Models reads the lake, materialises the staging, intermediate and mart models in dependency
order into the warehouse file (written beside it, then renamed into place) and runs every data test.

The CloudTrail events reach the models through rollups kept in a state file beside the warehouse
(state_file): a build aggregates only the partitions the lake's commit journal names since the
previous build, so an hourly build costs what the hour added, not what the lake holds. A missing
state, one of another lake, or --full-refresh aggregates the whole lake.` + exitStatusHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := a.config()
			if err != nil {
				return err
			}
			now := a.now().UTC().Truncate(time.Hour)
			if nowFlag != "" {
				if now, err = parseHour(nowFlag); err != nil {
					return withCode(exitUsage, err)
				}
			}
			lake, err := openLake(cmd.Context(), c)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer lake.Close()
			return a.buildModels(cmd.Context(), c, lake, now, everything(full))
		},
	}
	cmd.Flags().BoolVar(&full, "full-refresh", false, "aggregate the whole lake again instead of what changed since the last build")
	cmd.Flags().StringVar(&nowFlag, "now", "", "analysis time, YYYY-MM-DDTHH UTC (default: the current hour); the look-back window ends here")
	return cmd
}
