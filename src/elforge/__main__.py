from elforge.cli.main import entry

entry()
