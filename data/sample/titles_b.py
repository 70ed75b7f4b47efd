"""Hand-written sample titles (original text, not copied from Reddit), part two."""

TITLES = {
    "LifeProTips": """
LPT: Take a photo of your parking spot number in big garages; you will forget it
LPT: When returning a rental car, film a slow walk around it to avoid damage disputes
LPT: Put your keys in the fridge next to your lunch so you never forget it
LPT: If a job posting lists a salary range, negotiate from the top of it
LPT: Keep a note of gift ideas for friends throughout the year, not just in December
LPT: Unsubscribe from marketing emails instead of deleting them every day
LPT: Clean as you cook and the dishes are half done by the time you eat
LPT: Before a big purchase, wait 48 hours; most impulse wants fade
LPT: Write down the questions you want to ask before calling a doctor
LPT: Set your phone's screen to grayscale at night to make it less addictive
LPT: When someone is grieving, offer something specific instead of "let me know if you need anything"
LPT: Freeze leftover herbs in olive oil using an ice cube tray
LPT: Say "I don't know, but I'll find out" at work instead of guessing
LPT: Check the unit price on shelf labels; the bigger pack isn't always cheaper
LPT: Save a copy of your passport in your email in case you lose it abroad
LPT: Use a rubber band on a stripped screw for extra grip
LPT: Learn the names of the security guards and cleaners at your workplace
LPT: Back up your phone photos before you actually need to
LPT: If you can't remember whether you locked the door, say it out loud next time you do
LPT: Read the one-star reviews first; they tell you what goes wrong
LPT: When moving, pack a "first night" box with sheets, chargers and a kettle
LPT: Put a dryer sheet in your suitcase to keep clothes smelling fresh
LPT: Call your grandparents; one day you will wish you had more recordings of their voice
LPT: Pay attention to how people treat waiters, it tells you a lot
LPT: Carry a pen when travelling, you'll need it for customs forms
LPT: Turn off autoplay on streaming services to stop binge watching past midnight
LPT: If you're stuck on a problem, explain it to a rubber duck
LPT: Ask for the cancellation fee before signing any gym contract
LPT: Label your circuit breaker panel now, before an emergency
LPT: Schedule your savings transfer for payday so you never see the money
LPT: Hang your most-used tools at eye level and the rest goes in a drawer
LPT: Keep a spare phone charger at work and in your car
LPT: Stretch for five minutes after waking up and your back will thank you
LPT: Make a "done" list at the end of the day, not just a to-do list
LPT: If your ice cream is rock hard, microwave it for 10 seconds
LPT: Check your credit report once a year; it's free and catches fraud early
LPT: Use the alarm on your phone to remind you to take the laundry out
LPT: Practice your interview answers out loud, not just in your head
LPT: When assembling furniture, count all the screws before you start
LPT: Put a sticky note on the fuel cap side of a rental car's dashboard
LPT: Bring snacks to a long meeting and everyone will like you
LPT: Always take a photo of the inside of your fridge before grocery shopping
LPT: Ask "what would make this a great year for you?" when starting a new job
LPT: Buy a cheap doorstop for hotel rooms if you travel alone
LPT: Learn basic first aid; it takes a weekend and can save a life
LPT: If you hate making phone calls, write a short script before dialling
""",
    "explainlikeimfive": """
ELI5: Why do we get goosebumps when we're cold or scared?
ELI5: How do noise-cancelling headphones actually cancel noise?
ELI5: Why does time seem to go faster as we get older?
ELI5: What actually happens when a bank "creates" money?
ELI5: Why can't we just print more money to pay off national debt?
ELI5: How do airplanes stay in the air if they're so heavy?
ELI5: Why does cutting onions make us cry?
ELI5: How does a compass know where north is?
ELI5: Why do our voices sound different on recordings?
ELI5: What is the difference between a virus and bacteria?
ELI5: How do vaccines teach the body to fight a disease?
ELI5: Why is the sky blue but sunsets are red?
ELI5: How does GPS know exactly where I am?
ELI5: Why do cats purr and what does it mean?
ELI5: How do credit scores work and who decides them?
ELI5: Why does music give us chills?
ELI5: What does a CPU actually do when it "processes" something?
ELI5: Why do we need to sleep at all?
ELI5: How do solar panels turn sunlight into electricity?
ELI5: Why do some people get motion sickness and others don't?
ELI5: How does the stock market go up if everyone is buying and selling?
ELI5: Why can birds sit on power lines without being electrocuted?
ELI5: What makes a song get stuck in your head?
ELI5: How do submarines go up and down?
ELI5: Why are there leap years?
ELI5: How does a microwave heat food from the inside?
ELI5: Why is it so hard to remember dreams after waking up?
ELI5: How do touch screens know where my finger is?
ELI5: Why does hot water clean better than cold water?
ELI5: What is inflation and why does it happen?
ELI5: How do we know how old the universe is?
ELI5: Why do knuckles crack when you bend them?
ELI5: How does encryption keep my messages safe?
ELI5: Why does the moon look bigger near the horizon?
ELI5: How do fish breathe underwater?
ELI5: Why do we yawn, and why is it contagious?
ELI5: How do tides work if the moon is so far away?
ELI5: Why can't we just build a machine that makes rain?
ELI5: What is a black hole and why can't light escape it?
ELI5: How does a refrigerator make things cold?
ELI5: Why do cars need oil changes?
ELI5: How do hearing aids know which sounds to make louder?
ELI5: Why does ice float when most solids sink in their liquids?
ELI5: How do self-checkout machines know if I didn't scan something?
ELI5: Why do some medicines have to be taken with food?
ELI5: What happens to the water when a puddle dries up?
""",
    "personalfinance": """
Just paid off $32k in student loans in three years, here's what worked for me
Is it smart to pay off my car early or invest the extra money?
Got my first job offer at 23, how much should I put into my 401k?
Parents want me to co-sign a loan for them. What are the risks?
Emergency fund finally hit six months of expenses!
How do I start budgeting when my income changes every month?
Should I move my savings to a high-yield account?
Employer offers a Roth 401k and a traditional 401k, which should I pick?
Received an inheritance of $50,000 and have no idea what to do with it
Credit card company raised my interest rate without warning, can they do that?
How much house can I actually afford on a $70k salary?
Is it ever worth it to lease a car instead of buying?
My landlord is keeping my entire security deposit. What are my options?
Finally debt free at 29 after years of living paycheck to paycheck
Should I take a lower paying job with much better benefits?
What's the best way to save for a wedding without going into debt?
I got scammed out of $800 on a marketplace app. Any way to get it back?
First time filing taxes as a freelancer, what do I need to know?
How do index funds work and why does everyone recommend them?
My partner and I are moving in together. Joint account or separate accounts?
Is it worth refinancing my mortgage for a 0.75% lower rate?
I'm 40 with zero retirement savings. Is it too late?
Bank charged me three overdraft fees in one day for one purchase
How do you handle friends who always want to split the bill evenly?
Medical bill went to collections before I even received it
Should I use my bonus to pay off debt or build savings?
What insurance do I actually need in my twenties?
Car needs a $3,000 repair. Fix it or replace it?
Got a raise! How should I adjust my budget so I don't just spend it?
Is a credit union better than a big bank?
How do I talk to my parents about their retirement plans?
Quit my job to go back to school. How do I manage money with no income?
Found out I've been paying for three subscriptions I never use
What's a reasonable amount to spend on groceries for two people?
My employer matches 401k contributions but I can barely pay rent
Should I keep my old credit card open even though I don't use it?
Lost my job today. What should I do first financially?
Tips for negotiating a higher salary at my annual review?
Is it a bad idea to buy a house with friends?
Paying for my kid's college vs saving for my own retirement
How do I dispute an error on my credit report?
Just opened my first brokerage account, what should I know before buying anything?
Is term life insurance enough or do I need whole life?
We spent $1,200 on takeout last month without noticing. How do we stop?
Tax refund vs owing at the end of the year, which is actually better?
""",
    "aww": """
My grumpy old cat finally let the new kitten sleep next to him
This puppy saw snow for the first time today
Rescued this little guy from a storm drain, meet Pickles
My dog waits by the door every day at 5pm for my daughter
Our foster kittens are finally ready for their forever homes
Baby goat discovers she can jump
He's 14 years old and still thinks he's a puppy
Meet Biscuit, the newest member of our family
She was too scared to come out of her crate, now look at her
My neighbour's duckling follows their dog everywhere
The face he makes when I say "walk"
Found this hedgehog in my garden eating a snail
Two years ago she was found abandoned on the highway. Today she turns 3!
Bath time is not his favourite
Our senior rescue got his first birthday cake
This kitten fell asleep mid-meow
My parrot learned to laugh exactly like my dad
A baby otter holding its own tail
Sleepy corgi loaf on a Sunday morning
My horse insists on being in every photo
After 6 months at the shelter, Bear finally got adopted today
Tiny frog on a tiny leaf
The bunny that thinks she's a cat
He learned how to open the treat drawer. We're in trouble.
Brothers reunited after a year apart and they remembered each other
First time at the beach and she didn't know what to do with the waves
My cat brings me a sock every night as a "gift"
Look at this smol sleepy boi
Our dog gently carries the baby's toys back to the crib
Grandma knitted matching sweaters for the dog and me
This is Luna. She has one ear up and one ear down at all times.
My pup's reaction when I came home from a 3 week trip
Baby elephant trying to figure out what its trunk is for
Not the cat she wanted, but the cat she needed
Squirrel on my balcony demands peanuts every morning
She's been waiting all day for her human to get home from school
Fluffy calf at the farm we visited today
The vet said he's a "very good boy" and he knows it
Owlet doing a head tilt
My rescue pig loves belly rubs more than food
This kitten has the biggest eyes I've ever seen
He's officially cancer free today!
Three-legged cat conquering the cat tree
Pupper wearing his raincoat for the first time
Someone is very proud of the stick he found
Our chickens lined up waiting for breakfast
""",
}
