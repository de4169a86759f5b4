// Package layering holds no code, only tests that keep the package map as the
// README draws it: which packages may import the CLI library and containerd,
// which layers may not reach up into the jobs, that nothing imports a main
// package or the test tooling, and that no function takes more than six
// parameters. A new capability that blurs the map fails them by name.
package layering
