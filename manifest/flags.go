package manifest

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
)

// boolFlags are etcd flags that never consume the next argument. Go's flag
// package (which etcd uses) treats "--client-cert-auth true" as a flag
// followed by a stray positional argument, so we must know them to split
// arguments the way etcd does.
var boolFlags = map[string]bool{
	"client-cert-auth":                true,
	"peer-client-cert-auth":           true,
	"auto-tls":                        true,
	"peer-auto-tls":                   true,
	"force-new-cluster":               true,
	"strict-reconfig-check":           true,
	"enable-pprof":                    true,
	"enable-v2":                       true,
	"enable-grpc-gateway":             true,
	"pre-vote":                        true,
	"initial-corrupt-check":           true,
	"compact-hash-check-enabled":      true,
	"enable-lease-checkpoint":         true,
	"enable-lease-checkpoint-persist": true,
	"stop-grpc-service-on-defrag":     true,
	"unsafe-no-fsync":                 true,
	"memory-mlock":                    true,
}

// valueFlags are the flags this package interprets; a bare "--name" must not
// silently become name=true.
var valueFlags = map[string]bool{
	"name": true, "data-dir": true, "wal-dir": true,
	"listen-client-urls": true, "advertise-client-urls": true,
	"listen-peer-urls": true, "initial-advertise-peer-urls": true,
	"initial-cluster": true, "initial-cluster-token": true, "initial-cluster-state": true,
	"quota-backend-bytes": true, "feature-gates": true,
	"cert-file": true, "key-file": true, "trusted-ca-file": true, "client-crl-file": true,
	"peer-cert-file": true, "peer-key-file": true, "peer-trusted-ca-file": true, "peer-crl-file": true,
}

// legacyGates maps the etcd ≤3.5 experimental flags (already stripped of
// "experimental-") to the etcd 3.6 feature gates that replaced them, as in
// etcd's server/features.ExperimentalFlagToFeatureMap.
var legacyGates = map[string]string{
	"initial-corrupt-check":             "InitialCorruptCheck",
	"compact-hash-check-enabled":        "CompactHashCheck",
	"stop-grpc-service-on-defrag":       "StopGRPCServiceOnDefrag",
	"txn-mode-write-with-shared-buffer": "TxnModeWriteWithSharedBuffer",
	"enable-lease-checkpoint":           "LeaseCheckpoint",
	"enable-lease-checkpoint-persist":   "LeaseCheckpointPersist",
}

// isEtcdBinary accepts any path ending in "etcd" because images and distros
// install it in different directories (/usr/local/bin, /usr/bin, ...).
func isEtcdBinary(arg string) bool {
	return path.Base(arg) == "etcd"
}

// canonicalFlag drops the "experimental-" prefix so that a manifest written
// for etcd 3.5 and one written for 3.6 yield the same keys.
func canonicalFlag(name string) string {
	return strings.TrimPrefix(name, "experimental-")
}

// parseFlags splits etcd's arguments (binary already removed) into a map.
// The last occurrence of a flag wins, as with Go's flag package, except
// feature-gates whose occurrences accumulate as etcd's gate flag does.
func parseFlags(args []string) (map[string]string, error) {
	flags := make(map[string]string)
	for i := 0; i < len(args); i++ {
		name, value, hasValue, err := splitFlag(args[i])
		if err != nil {
			return nil, err
		}
		if !hasValue {
			value, i, err = flagValue(name, args, i)
			if err != nil {
				return nil, err
			}
		}
		if prev, ok := flags[name]; ok && name == "feature-gates" && prev != "" {
			value = prev + "," + value
		}
		flags[name] = value
	}
	return flags, nil
}

// splitFlag accepts "-flag", "--flag" and either with "=value".
func splitFlag(arg string) (name, value string, hasValue bool, err error) {
	trimmed := strings.TrimPrefix(strings.TrimPrefix(arg, "-"), "-")
	if trimmed == arg || trimmed == "" || strings.HasPrefix(trimmed, "-") {
		return "", "", false, fmt.Errorf("unexpected argument %q: etcd takes only flags", arg)
	}
	name, value, hasValue = strings.Cut(trimmed, "=")
	if name == "" {
		return "", "", false, fmt.Errorf("malformed flag %q", arg)
	}
	return canonicalFlag(name), value, hasValue, nil
}

// flagValue resolves "--flag value" and boolean "--flag". Unknown flags
// followed by a non-flag take it as their value so new kubeadm flags written
// in the two-argument form still parse.
func flagValue(name string, args []string, i int) (string, int, error) {
	nextIsValue := i+1 < len(args) && !strings.HasPrefix(args[i+1], "-")
	switch {
	case boolFlags[name]:
		return "true", i, nil
	case nextIsValue:
		return args[i+1], i + 1, nil
	case valueFlags[name]:
		return "", i, fmt.Errorf("flag --%s needs a value", name)
	default:
		return "true", i, nil
	}
}

// parseFeatureGates reads etcd's "--feature-gates=A=true,B=false" syntax.
func parseFeatureGates(spec string) (map[string]bool, error) {
	gates := make(map[string]bool)
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		k, v, ok := strings.Cut(item, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("--feature-gates: %q is not Name=bool", item)
		}
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return nil, fmt.Errorf("--feature-gates: %s: %q is not a boolean", k, v)
		}
		gates[k] = b
	}
	return gates, nil
}

// featureGates merges the legacy experimental flags with --feature-gates;
// an explicit gate wins because it is the newer, more deliberate spelling.
func featureGates(flags map[string]string) (map[string]bool, error) {
	gates := make(map[string]bool)
	for _, flag := range sortedKeys(legacyGates) {
		v, ok := flags[flag]
		if !ok {
			continue
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("--%s: %q is not a boolean", flag, v)
		}
		gates[legacyGates[flag]] = b
	}
	explicit, err := parseFeatureGates(flags["feature-gates"])
	if err != nil {
		return nil, err
	}
	for k, v := range explicit {
		gates[k] = v
	}
	return gates, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// splitList reads etcd's comma-separated URL flags.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
