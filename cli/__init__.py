"""The `flashpool` command: the console, the HSM command language, and site tools.

    flashpool [--site PATH] [--theme NAME] [--read-only]     the console
    flashpool init PATH [--definition FILE | --demo]         create a site
    flashpool hsm 'FRBACKUP COPYPOOL(DB2PROD)' [--json] [--wait]
    flashpool hsm - [--stop-on RC] [--quiet]                 a batch step from standard input
    flashpool volume checksum VOLSER                         SHA-256 of what a host reads
    flashpool volume damage VOLSER --tracks A-B              overwrite tracks (recovery drills)
    flashpool workload --copypool CP [--rate N] [--seconds S]  changing data for demos
    flashpool serve [--detach] [--listen HOST:PORT --tls-cert F --tls-key F]   the site's server
    flashpool status | stop                                  the server: how it is, stop it
    flashpool events [--json] [--count N]                    the server's event stream for scripts
    flashpool security whoami | list | define | permit | grant | token | set | settings ...
    flashpool audit verify [--against FILE...] | export [--since WHEN]    the audit trail
    flashpool config show | export | apply FILE | add-volume | alter-pool ... [--dry-run]  the constructs

Commands go through the site's server when one runs, and run in this process when none does.

Every error is a message and an exit code, never a traceback.

The modules, by job: main (the entry point, errors, opening the console), parser (the command
line), connect (how a command reaches the site), output (what a command prints), hsm (HSM
commands), batch (a batch step's logic), thin (`hsm` through a running server without the
engine), wait (`--wait`: until the background copies complete) and progress (its
line on a terminal), create (`init`), data (volume and data set tools, the demo workload), serve
(the site's server: serve, status, stop), events (its event stream), security, audit, catalog, config.
"""
