/*
 * check.h — the `cfgfs check` subcommand: offline validation of files.
 *
 * Owns the command line `cfgfs check [--as PATH] FILE...` and its output
 * contract, for CI pipelines and pre-commit hooks. Each FILE is read (at
 * most the size limit plus one byte) and checked with exactly the syntax
 * rules a mount applies (backend/formats/validate.h). Its format comes from
 * --as PATH when given (the tree path the file would be saved as; it applies
 * to every FILE), else from FILE's own name; files of no known format are
 * only size-checked. "-" reads standard input (give --as to say its format).
 *
 * Output, on stdout, one line per problem, the path as given on the command
 * line:
 *     FILE:LINE:COL: message          a problem with a position
 *     FILE: message                   one without (size over 16 MiB)
 *     FILE: cannot read: strerror     unreadable file
 * Exit status: 0 every file passed, 1 any problem, 2 usage error (one line on
 * stderr, nothing checked) or stdout could not be written.
 *
 * `--policy FILE` applies the policy's rules (format, ignore) as a mount would.
 * Single-threaded; no globals.
 */
#ifndef CFGFS_CHECK_H
#define CFGFS_CHECK_H

#define CFGFS_CHECK_EXIT_OK 0
#define CFGFS_CHECK_EXIT_PROBLEM 1
#define CFGFS_CHECK_EXIT_USAGE 2

/* ARGV[0] is "check". Returns the process exit status. */
int cfgfs_check_main(int argc, char **argv);

#endif
