package cli

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/moatsec/moat/sas"
	"github.com/spf13/cobra"
)

func newSASCmd(g *globals) *cobra.Command {
	cmd := &cobra.Command{Use: "sas", Short: "Sign and inspect Shared Access Signature tokens"}
	var resource, hubName, publisher, rule string
	var ttl time.Duration
	sign := &cobra.Command{
		Use:   "sign",
		Short: "Sign a token with the connection string's key",
		Long: `Sign an Event Hubs–style SAS token with the key of the connection string
(--connection-string, MOAT_CONNECTION_STRING or --data DIR). The token is scoped to
--resource (a URI such as sb://NAMESPACE/hub), or to --hub H [--publisher P].
With --rule NAME it signs with that rule's key instead, fetched from the server
(a hub-level rule of --hub when --hub is given, else a namespace rule; needs Manage).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cs, err := g.connectionString()
			if err != nil {
				return err
			}
			if rule != "" {
				c, _, err := g.client(adminTTL)
				if err != nil {
					return err
				}
				r, err := c.ListKeys(cmd.Context(), hubName, rule)
				if err != nil {
					return err
				}
				cs.SharedAccessKeyName, cs.SharedAccessKey, cs.SharedAccessSignature = r.Name, r.PrimaryKey, ""
			}
			if cs.SharedAccessKey == "" {
				return fmt.Errorf("the connection string holds a signature, not a key: it cannot sign")
			}
			uri := resource
			switch {
			case uri != "" && hubName != "":
				return fmt.Errorf("--resource and --hub are exclusive")
			case uri == "" && hubName == "":
				uri = "sb://" + cs.Namespace() + "/"
			case uri == "":
				uri = "sb://" + cs.Namespace() + "/" + strings.ToLower(hubName)
				if publisher != "" {
					uri += "/publishers/" + strings.ToLower(publisher)
				}
			}
			if publisher != "" && hubName == "" {
				return fmt.Errorf("--publisher needs --hub")
			}
			if ttl <= 0 {
				return fmt.Errorf("--ttl must be positive")
			}
			fmt.Fprintln(g.stdout, sas.Sign(uri, cs.SharedAccessKeyName, cs.SharedAccessKey, time.Now().Add(ttl)))
			return nil
		},
	}
	sign.Flags().StringVar(&resource, "resource", "", "resource URI the token is scoped to")
	sign.Flags().StringVar(&hubName, "hub", "", "scope the token to this hub")
	sign.Flags().StringVar(&publisher, "publisher", "", "with --hub: scope the token to this publisher")
	sign.Flags().DurationVar(&ttl, "ttl", time.Hour, "token lifetime")
	sign.Flags().StringVar(&rule, "rule", "", "sign with this rule's primary key, fetched from the server")

	var key, namespace string
	var iot bool
	inspect := &cobra.Command{
		Use:   "inspect TOKEN",
		Short: "Decode a token: resource, key name, expiry, and whether it verifies with --key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := sas.Parse(strings.TrimSpace(args[0]))
			if err != nil {
				return err
			}
			type report struct {
				Resource  string    `json:"resource"`
				Scope     string    `json:"scope,omitempty"`
				ScopeErr  string    `json:"scopeError,omitempty"`
				KeyName   string    `json:"keyName"`
				Expiry    time.Time `json:"expiry"`
				ExpiresIn string    `json:"expiresIn"`
				Expired   bool      `json:"expired"`
				Verified  *bool     `json:"verified,omitempty"`
			}
			exp := time.Unix(t.Expiry, 0).UTC()
			r := report{Resource: t.Resource, KeyName: t.KeyName, Expiry: exp,
				ExpiresIn: time.Until(exp).Round(time.Second).String(), Expired: t.Expired(time.Now(), 0)}
			ns := namespace
			if ns == "" {
				if cs, err := g.connectionString(); err == nil {
					ns = cs.Namespace()
					if key == "" {
						key = cs.SharedAccessKey
					}
				}
			}
			if ns != "" {
				if scope, err := t.Scope(ns); err != nil {
					r.ScopeErr = err.Error()
				} else {
					r.Scope = scope
				}
			}
			if key != "" {
				ok := t.Verify(key) == 0
				if iot {
					ok = t.VerifyIoTHub(key) == 0
				}
				r.Verified = &ok
			}
			return g.print(r, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "resource:\t%s\n", r.Resource)
				if r.Scope != "" || r.ScopeErr != "" {
					fmt.Fprintf(w, "scope (in %s):\t%s%s\n", ns, r.Scope, r.ScopeErr)
				}
				fmt.Fprintf(w, "key name:\t%s\nexpiry:\t%s (in %s)\nexpired:\t%v\n", r.KeyName, r.Expiry.Format(time.RFC3339), r.ExpiresIn, r.Expired)
				if r.Verified != nil {
					fmt.Fprintf(w, "signature verifies:\t%v\n", *r.Verified)
				}
			})
		},
	}
	inspect.Flags().StringVar(&key, "key", "", "key to verify the signature with (default: the connection string's key, if any)")
	inspect.Flags().StringVar(&namespace, "namespace", "", "namespace host to check the token's resource against")
	inspect.Flags().BoolVar(&iot, "iothub", false, "the key is base64-decoded before HMAC (IoT Hub device style)")
	cmd.AddCommand(sign, inspect)
	return cmd
}
