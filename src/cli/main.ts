console.log("promdrop");
