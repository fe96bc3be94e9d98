from district.cli import main

main()
