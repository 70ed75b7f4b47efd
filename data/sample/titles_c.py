"""Hand-written sample titles (original text, not copied from Reddit), part three."""

TITLES = {
    "gaming": """
After 200 hours I finally beat the final boss without summons
What's a game you keep reinstalling even though you've finished it?
My grandfather is 78 and just finished his first open-world game
The soundtrack of this indie game is criminally underrated
Found an old save file from 2004 on my memory card
Remember when games came with thick instruction manuals?
Just hit 1000 wins in ranked and my hands are shaking
Built this arcade cabinet with my dad over the summer
The best video game couch co-op experiences of all time?
Is it just me or are tutorials getting way too long?
My wife watched me play a horror game and now she's hooked
Speedrunner breaks world record by 0.3 seconds after two years of attempts
That moment when you realize the side quest was the best part of the game
Made a cake shaped like a health potion for my friend's birthday
Which game has the most satisfying crafting system?
Game developers who add a "skip cutscene" button, thank you
I drew every boss from my favourite game, here's the final piece
Patch notes just nerfed my favourite weapon into the ground
Replaying childhood games as an adult hits different
Why don't more games let you pet the dog?
My son beat me at a racing game for the first time today
Found my old console in the attic and it still works
What's the most confusing game mechanic you've ever encountered?
Can we talk about how good the level design is in old platformers?
Just finished a 100% completion run, here's everything I learned
Story-driven games that made you actually cry?
Accidentally deleted my 150-hour save. Starting over.
This pixel art town I built took me three weeks
Do you play with subtitles on? I can't go back now
Hidden detail: NPCs in this game react to the weather
Local multiplayer deserves a comeback
I cosplayed as the shopkeeper and people actually recognized me
Opinion: loading screens with tips are underrated
Who else stays up way too late saying "one more turn"?
First time playing a soulslike and I've died 47 times to the first boss
The physics in this game are so broken I love it
Which game has the best opening scene?
My cat keeps stepping on the controller during boss fights
Lost a tournament match but made a friend. Worth it.
Games that are better with friends than alone?
That one achievement I'll never get
Re-created my hometown in a city builder game
Retro handheld collection finally complete after 10 years
PSA: the free-to-play event ends tomorrow
Does anyone else replay the first level just to enjoy the music?
""",
    "science": """
Researchers develop biodegradable plastic that breaks down in seawater within weeks
New study links regular walking to lower risk of depression in older adults
Astronomers detect water vapour in the atmosphere of a distant exoplanet
Bees can learn to count and use symbols, experiment suggests
Scientists grow functional blood vessels from stem cells in the lab
Ocean warming is causing fish to shrink, new analysis finds
Sleep deprivation impairs the brain's ability to clear toxic proteins, study shows
Ancient DNA reveals surprising migration patterns in Bronze Age Europe
Engineers create a solar cell that also harvests energy from raindrops
Children who read for pleasure show better cognitive outcomes in adolescence
New antibiotic discovered in soil bacteria is effective against resistant strains
Coral species found to tolerate higher temperatures could help reef restoration
Study finds microplastics in the placentas of newborns
Physicists measure the proton's radius with unprecedented precision
Crows demonstrate ability to plan for future events, researchers report
Moderate coffee consumption associated with lower risk of liver disease
Wind turbines can coexist with farmland and improve crop yields, study says
Researchers map the complete neural wiring of a fruit fly brain
Gut bacteria may influence how the body responds to stress
New battery design could charge an electric car in ten minutes
Mediterranean diet linked to slower cognitive decline in large cohort study
Scientists observe a star being torn apart by a black hole
Trees in cities lower summer temperatures by up to 5 degrees, researchers find
Loneliness is as harmful to health as smoking 15 cigarettes a day, meta-analysis finds
New material pulls drinkable water from desert air using sunlight
Dolphins call each other by unique whistle "names"
Exercise during pregnancy linked to healthier birth weights
Bacteria engineered to eat plastic waste show promising results
Researchers identify gene variant that protects against Alzheimer's
Glaciers in the Himalayas are melting twice as fast as last century
Babies as young as six months can distinguish between languages, study suggests
A single dose of psilocybin reduced anxiety in patients with cancer in small trial
Green spaces in childhood associated with better mental health in adulthood
Scientists create a map of every known asteroid in the inner solar system
Chimpanzees use medicinal plants to treat wounds, field study reports
Blue light from screens has little effect on sleep, contrary to popular belief
Early humans reached the Americas thousands of years earlier than thought
Regular sauna use associated with lower risk of heart disease
Honeybees use dance to communicate the distance to food sources
Researchers develop a blood test that detects multiple cancers early
Rising CO2 levels make staple crops less nutritious, study warns
Octopuses may experience something like dreams, scientists suggest
Volunteers who spent two hours a week in nature reported better wellbeing
A new species of dinosaur identified from fossils found in a farmer's field
""",
    "Cooking": """
I finally nailed my grandmother's lasagna recipe after five attempts
What's the one kitchen tool you can't live without?
Made fresh pasta for the first time and it was so much easier than I thought
How do you keep cilantro fresh for more than two days?
My sourdough starter is three years old today
Cheap weeknight meals that don't feel cheap?
Tried cooking rice in the oven and it came out perfect
What's your secret ingredient for a better chili?
Why does my homemade bread always come out dense?
Roast chicken with lemon and garlic, Sunday dinner sorted
Cast iron owners: how do you actually clean it?
Made ramen from scratch, broth took 12 hours but worth every minute
What spice do you think is totally overrated?
Beginner here, what five recipes should everyone know?
I accidentally used baking soda instead of baking powder. Can I save it?
Meal prep for the week: four dishes, one afternoon
Best way to reheat pizza without making it soggy?
My first attempt at croissants: ugly but delicious
Does anyone else save parmesan rinds for soup?
Homemade dumplings with my kids, they made the weird-shaped ones
Tips for cooking a steak without a grill?
Why do restaurant vegetables taste so much better than mine?
Pickled red onions changed my life, put them on everything
What do you do with leftover rice besides fried rice?
Slow cooker recipes that aren't just stew?
Made a three-layer birthday cake for my mom's 60th
How long can cooked chicken safely stay in the fridge?
My partner is vegetarian and I want to surprise them. Ideas?
Knife sharpening: whetstone or pull-through sharpener?
Caramelized onions take way longer than recipes say
What's a dish from your culture that more people should try?
Homemade tortillas vs store-bought: it's not even close
Stock vs broth, is there actually a difference?
The egg trick that finally made my omelettes fluffy
Burnt the garlic again. How do you stop it burning?
I've been cooking every day for a year, here's what I learned
Curry from scratch: which spices should I buy first?
Lemon drizzle cake that went viral in my office
Best budget olive oil for everyday cooking?
Tried a 24-hour dry brine on my turkey and never going back
How do you stop pancakes from sticking to the pan?
Grandpa's secret barbecue sauce recipe, finally written down
Homemade ice cream without a machine actually works
Cooking for one without wasting food, any tips?
""",
    "books": """
Just finished a 900-page fantasy novel and I feel lost now that it's over
What's a book that completely changed the way you think?
I read 52 books this year, here are my top ten
Does anyone else judge a book by its first sentence?
Books that are better than their movie adaptations?
I've started reading physical books again after years of only ebooks
What book have you reread the most?
Authors who write great villains, give me recommendations
My grandfather left me his library of 2,000 books
Finally read the classic everyone told me to read in school. They were right.
Audiobooks count as reading, change my mind
What's a book you'd like to read again for the first time?
Short novels you can finish in a weekend?
Started a book club at work and it's going better than expected
The best opening chapters you've ever read
I used to hate reading, now I read every night before bed
Which fictional world would you want to live in?
Non-fiction books that read like thrillers?
Found a handwritten note from 1967 inside a used book
What's your unpopular opinion about a popular book?
Books with unreliable narrators that actually surprised you
Just got my first library card at 34
How do you get back into reading after a long slump?
The ending of this mystery novel made me throw the book across the room
What book do you recommend to people who "don't read"?
Translated novels that deserve more attention
My kid just finished her first chapter book on her own
Poetry collections for people who think they don't like poetry?
Does anyone else keep a reading journal?
The most beautiful sentence you've ever read?
Sci-fi books where the science actually holds up
Finished my TBR pile for the first time ever
What book made you cry on public transport?
Historical fiction recommendations set outside Europe
I read the whole series in two weeks and now I need more
Favourite independent bookshops you've visited?
Books about friendship that aren't romance?
Why do I buy books faster than I can read them?
Graphic novels that made you take the medium seriously
A book that started slow but became one of your favourites?
Memoirs that are actually worth reading?
Started reading in a second language, any easy novels to recommend?
What's the longest book you've ever finished?
""",
}
