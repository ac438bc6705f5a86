package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/permlake/permlake/sql/orgbuild"
)

func newModelsCmd(a *app) *cobra.Command {
	var nowFlag, accountsFlag, shardFlag string
	var full, finalize bool
	cmd := &cobra.Command{
		Use:   "models",
		Short: "Build the DuckDB models from the lake and run their data tests",
		Long: `Models reads the lake, materialises the staging, intermediate and mart models in dependency
order into the warehouse file (written beside it, then renamed into place) and runs every data test.

The CloudTrail events reach the models through rollups kept in a state file beside the warehouse
(state_file): a build aggregates only the partitions the lake's commit journal names since the
previous build, so an hourly build costs what the hour added, not what the lake holds. A missing
state, one of another lake, or --full-refresh aggregates the whole lake.

The marts are built per account (an AWS account; Azure is one unit) and kept in the lake under
marts/<mart>/cloud=…/account_id=…/, each with a fingerprint of its inputs (snapshot, SCPs,
catalog, models, activity, window): a build computes only the accounts whose fingerprint changed.
To spread the work over machines, run the per-account step in parts, then the final step once:

  permlake models --shard 1/4     (… --shard 4/4: each builds its quarter of the accounts)
  permlake models --accounts 111122223333,azure
  permlake models --finalize      (organization-level marts, the warehouse, the marts manifest;
                                   exit 1, naming them, while some account is not up to date)

Without these flags a build does both steps for every account.` + exitStatusHelp,
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
			plan := everything(full)
			if accountsFlag != "" || shardFlag != "" || finalize {
				if finalize && (accountsFlag != "" || shardFlag != "") {
					return withCode(exitUsage, errors.New("--finalize runs alone: it builds from what the --accounts and --shard steps published"))
				}
				plan = modelsPlan{accounts: !finalize, finalize: finalize, full: full}
			}
			if accountsFlag != "" {
				for _, s := range strings.Split(accountsFlag, ",") {
					u, err := orgbuild.ParseUnit(strings.TrimSpace(s))
					if err != nil {
						return withCode(exitUsage, fmt.Errorf("--accounts: %w", err))
					}
					plan.units = append(plan.units, u)
				}
			}
			if shardFlag != "" {
				if plan.shard, err = orgbuild.ParseShard(shardFlag); err != nil {
					return withCode(exitUsage, fmt.Errorf("--shard: %w", err))
				}
			}
			lake, err := openLake(cmd.Context(), c)
			if err != nil {
				return withCode(exitUsage, err)
			}
			defer lake.Close()
			return a.buildModels(cmd.Context(), c, lake, now, plan)
		},
	}
	cmd.Flags().BoolVar(&full, "full-refresh", false, "aggregate the whole lake again and rebuild every selected account, whatever changed")
	cmd.Flags().StringVar(&accountsFlag, "accounts", "", "build only these accounts' marts (comma-separated AWS account IDs, or azure); no final step")
	cmd.Flags().StringVar(&shardFlag, "shard", "", "build only shard i of n of the accounts (i/n, e.g. 2/4); no final step")
	cmd.Flags().BoolVar(&finalize, "finalize", false, "only the final step: organization-level marts, the warehouse and the marts manifest")
	cmd.Flags().StringVar(&nowFlag, "now", "", "analysis time, YYYY-MM-DDTHH UTC (default: the current hour); the look-back window ends here")
	return cmd
}
