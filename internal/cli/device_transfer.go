package cli

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/moatsec/moat/internal/device"
	"github.com/spf13/cobra"
)

func newDeviceImportCmd(g *globals) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "import FILE",
		Short: "Create or replace devices from a CSV or JSONL file (- = standard input)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			format, err := transferFormat(format, args[0])
			if err != nil {
				return err
			}
			var in io.Reader = cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return err
				}
				defer f.Close()
				in = f
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			n, err := c.ImportDevices(cmd.Context(), format, in)
			if err != nil {
				return err
			}
			return g.print(map[string]int{"imported": n}, func(w *tabwriter.Writer) { fmt.Fprintf(w, "imported %d devices\n", n) })
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from the file name's extension)")
	return cmd
}

func newDeviceExportCmd(g *globals) *cobra.Command {
	var format, file string
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Write every device, with its keys, as CSV or JSONL",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) (err error) {
			if format == "" && file == "" {
				format = device.FormatCSV
			}
			if format, err = transferFormat(format, file); err != nil {
				return err
			}
			c, _, err := g.client(adminTTL)
			if err != nil {
				return err
			}
			if file == "" {
				return c.ExportDevices(cmd.Context(), format, g.stdout)
			}
			// The keys are secret: the file is the owner's only.
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			defer func() {
				if cerr := f.Close(); err == nil {
					err = cerr
				}
			}()
			return c.ExportDevices(cmd.Context(), format, f)
		},
	}
	cmd.Flags().StringVar(&format, "format", "", "csv or jsonl (default: from --file's extension, else csv)")
	cmd.Flags().StringVar(&file, "file", "", "write to this file (mode 0600) instead of standard output")
	return cmd
}

// transferFormat returns the import/export format: the flag, else the one
// the file name's extension names.
func transferFormat(flag, file string) (string, error) {
	if flag == "" {
		switch strings.ToLower(filepath.Ext(file)) {
		case ".csv":
			flag = device.FormatCSV
		case ".jsonl", ".ndjson":
			flag = device.FormatJSONL
		default:
			return "", fmt.Errorf("cannot tell the format of %q: use --format csv or jsonl", file)
		}
	}
	f, err := device.CheckFormat(flag)
	if err != nil {
		return "", fmt.Errorf("--format %q: want csv or jsonl", flag)
	}
	return f, nil
}
