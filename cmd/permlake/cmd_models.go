package main

import (
	"time"

	"github.com/spf13/cobra"
)

func newModelsCmd(a *app) *cobra.Command {
	var nowFlag string
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Build the DuckDB models from the lake and run their data tests",
		Long: `Models reads the lake, materialises the staging, intermediate and mart models in dependency
order into the warehouse file (written beside it, then renamed into place) and runs every data test.` + exitStatusHelp,
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
			return a.buildModels(cmd.Context(), c, lake, now)
		},
	}
	cmd.Flags().StringVar(&nowFlag, "now", "", "analysis time, YYYY-MM-DDTHH UTC (default: the current hour); the look-back window ends here")
	return cmd
}
