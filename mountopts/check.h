/*
 * check.h — the `cfgfs check` subcommand: offline validation of files.
 *
 * Owns the command line `cfgfs check [--policy FILE] [--as PATH] FILE...`
 * and its output contract, for CI pipelines and pre-commit hooks. Each FILE
 * is read (at most the size limit plus one byte) and judged by the same
 * backend/verdict a mount uses: format, syntax and limits, the policy's JSON
 * Schema and check command. Scratch names are passed. Its format comes from
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
