// What the add-in's scripts share through `window`: client.js defines `actionplan`, commands.js the ribbon's functions.
declare var actionplan: any;
interface Window { actionplan: any; checkPlan: any; submitPlan: any; getRollup: any; }
