package cli

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rlgo/rlgo/learner/gpu"
)

// newDevices is `rltrain devices`: the NVIDIA GPUs NVML sees.
func newDevices(stdout, stderr io.Writer) *cobra.Command {
	return newDevicesWith(stdout, stderr, gpu.Discover)
}

// newDevicesWith is newDevices with the discovery injected, for tests.
func newDevicesWith(stdout, stderr io.Writer, discover func() ([]gpu.Info, error)) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "devices",
		Short: "List the NVIDIA GPUs the learner could use",
		Long: `List the NVIDIA GPUs that NVML (libnvidia-ml.so.1) reports: index, name,
UUID, memory, utilisation, driver and CUDA versions. Without an NVIDIA
driver it says so in one line and exits 0: the learner runs on the CPU.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return devices(stdout, stderr, discover, asJSON)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the devices as a JSON array")
	return c
}

func devices(stdout, stderr io.Writer, discover func() ([]gpu.Info, error), asJSON bool) error {
	infos, err := discover()
	if err != nil && !errors.Is(err, gpu.ErrNoDriver) {
		return &exitError{code: ExitError, err: err}
	}
	var none string
	switch {
	case err != nil:
		none = fmt.Sprintf("no NVIDIA GPU: %v; the learner runs on the CPU", err)
	case len(infos) == 0:
		none = "no NVIDIA GPU: the NVIDIA driver reports no devices; the learner runs on the CPU"
	}
	if asJSON {
		if infos == nil {
			infos = []gpu.Info{} // [] rather than null
		}
		if none != "" {
			// stdout stays valid JSON; the reason goes to stderr.
			fmt.Fprintln(stderr, none)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(infos); err != nil {
			return &exitError{code: ExitError, err: err}
		}
		return nil
	}
	if none != "" {
		_, err := fmt.Fprintln(stdout, none)
		return err
	}
	const mib = 1 << 20
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "INDEX\tNAME\tUUID\tMEMORY USED/TOTAL (MiB)\tGPU UTIL\tMEMORY UTIL\tDRIVER\tCUDA")
	for _, in := range infos {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d/%d\t%d%%\t%d%%\t%s\t%s\n",
			in.Index, in.Name, in.UUID, in.MemoryUsed/mib, in.MemoryTotal/mib,
			in.UtilizationGPU, in.UtilizationMemory, in.DriverVersion, in.CUDAVersion)
	}
	return tw.Flush()
}
