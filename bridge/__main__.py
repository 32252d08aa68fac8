from bridge.cli.app import main

main()
