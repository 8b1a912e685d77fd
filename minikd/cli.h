#pragma once
// minikd's own kubectl-like CLI: get, describe, apply, create, replace, delete, logs, scale, rollout,
// edit, label, annotate, patch, wait, api-resources, kubeconfig, dashboard, version, status, completion.

namespace minikd {

/// Runs one CLI command. argv[0] is the verb ("get"), the rest its arguments and flags. Prints to
/// stdout/stderr like kubectl and returns the process exit code (0, or 1 on any error). Never throws.
int runCli(int argc, char** argv);

/// True when `verb` is one runCli handles (lets main() route unknown words to its own usage).
bool isCliVerb(const char* verb);

/// The CLI part of `minikd --help`: one line per verb.
const char* cliUsage();

}  // namespace minikd
