from paperex.cli import main

main()
