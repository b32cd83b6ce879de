package rules

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtin returns the rules shipped in the binary (builtin/*.yaml), parsed
// and validated; their Origin.File is "builtin/NAME.yaml".
func Builtin() ([]*Rule, error) {
	names, err := fs.Glob(builtinFS, "builtin/*.yaml")
	if err != nil {
		return nil, fmt.Errorf("rules: built-in: %w", err)
	}
	var out []*Rule
	for _, name := range names {
		data, err := builtinFS.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("rules: built-in %s: %w", path.Base(name), err)
		}
		rs, err := Parse(name, data)
		if err != nil {
			return nil, fmt.Errorf("rules: built-in: %w", err)
		}
		for _, r := range rs {
			r.Origin.Builtin = true
		}
		out = append(out, rs...)
	}
	return out, nil
}
