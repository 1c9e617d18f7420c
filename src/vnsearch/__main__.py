from vnsearch.cli.commands import main

main(prog_name="vnsearch")
